"""Interactive widgets, one module per widget. Each is a thin view over pure, tested functions."""
