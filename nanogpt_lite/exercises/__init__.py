"""Checked exercises, one module per chapter: ``from nanogpt_lite.exercises import ch01``."""
from .core import ____, Feedback, Incorrect, Problem, expect, problems, returns_blank

__all__ = ["____", "Feedback", "Incorrect", "Problem", "expect", "problems", "returns_blank"]
