"""How ``self.x = ...`` registers parameters: the bookkeeping core of ``torch.nn.Module``, micrograd-sized.

``TinyModule`` keeps three registries, as torch does: ``_parameters`` (``nn.Parameter`` values),
``_modules`` (child modules) and ``_buffers`` (tensors given to ``register_buffer``). Anything else
is an ordinary attribute, invisible to ``parameters()``, ``state_dict()`` and ``to()``.
No hooks, no ``forward``, no ``None`` slots, no non-persistent buffers: only the registration.
"""
from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.nn import Parameter


class TinyModule:
    """Subclass it like ``nn.Module``: call ``super().__init__()`` first, then assign attributes."""

    def __init__(self) -> None:
        for registry in ("_parameters", "_modules", "_buffers"):
            object.__setattr__(self, registry, {})

    def __setattr__(self, name: str, value: object) -> None:
        """``self.name = value``: a Parameter or a TinyModule is registered; a plain value is just stored."""
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before TinyModule.__init__() call")
        if isinstance(value, Parameter):
            self._forget(name, keep=self._parameters)
            self._parameters[name] = value
        elif name in self._parameters:
            raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} (Parameter expected)")
        elif isinstance(value, TinyModule):
            self._forget(name, keep=self._modules)
            self._modules[name] = value
        elif name in self._modules:
            raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r} (TinyModule expected)")
        elif name in self._buffers:  # assigning to a buffer's name replaces the buffer
            self.register_buffer(name, value)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> object:
        """Called only when normal lookup fails: registered values live in the registries, not ``__dict__``."""
        for registry in ("_parameters", "_modules", "_buffers"):
            if name in self.__dict__.get(registry, {}):
                return self.__dict__[registry][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _forget(self, name: str, keep: dict) -> None:
        """Drop ``name`` from every other place; in ``keep`` a re-assignment keeps its position, as in torch."""
        for place in (self.__dict__, self._parameters, self._modules, self._buffers):
            if place is not keep:
                place.pop(name, None)

    def register_buffer(self, name: str, tensor: torch.Tensor) -> None:
        """A tensor that is saved and moved with the module but never trained."""
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute {name!r} already exists")
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"cannot assign {type(tensor).__name__} as buffer {name!r} (Tensor expected)")
        self._buffers[name] = tensor

    def _walk(self, registry: str, prefix: str = "") -> Iterator[tuple[str, torch.Tensor]]:
        """Every (dotted name, tensor) of one registry: this module's own first, then each child's."""
        for name, tensor in getattr(self, registry).items():
            yield prefix + name, tensor
        for name, child in self._modules.items():
            yield from child._walk(registry, f"{prefix}{name}.")

    def _unique(self, registry: str) -> Iterator[tuple[str, torch.Tensor]]:
        seen: set[int] = set()  # a shared (tied) tensor is yielded once, under its first name
        for name, tensor in self._walk(registry):
            if id(tensor) not in seen:
                seen.add(id(tensor))
                yield name, tensor

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        return self._unique("_parameters")

    def parameters(self) -> Iterator[Parameter]:
        return (p for _, p in self.named_parameters())

    def named_buffers(self) -> Iterator[tuple[str, torch.Tensor]]:
        return self._unique("_buffers")

    def buffers(self) -> Iterator[torch.Tensor]:
        return (b for _, b in self.named_buffers())

    def state_dict(self, prefix: str = "") -> dict[str, torch.Tensor]:
        """Parameters then buffers of this module, then each child's; shared tensors appear under every name."""
        state = {prefix + n: t.detach() for n, t in [*self._parameters.items(), *self._buffers.items()]}
        for name, child in self._modules.items():
            state.update(child.state_dict(f"{prefix}{name}."))
        return state

    def to(self, target: torch.device | str | torch.dtype) -> TinyModule:
        """Convert parameters (in place, so an optimizer keeps them) and buffers; plain attributes stay behind.

        Like torch, a dtype converts floating-point tensors only.
        """
        def convert(t: torch.Tensor) -> torch.Tensor:
            return t if isinstance(target, torch.dtype) and not t.is_floating_point() else t.to(target)

        for child in self._modules.values():
            child.to(target)
        for p in self._parameters.values():
            p.data = convert(p.data)
        self._buffers.update({name: convert(b) for name, b in self._buffers.items()})
        return self
