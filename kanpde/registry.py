"""Name registries: a new basis, model or loss weighting is one class plus one decorator line."""
from __future__ import annotations

from typing import Callable, Generic, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to classes. ``get`` raises a ConfigError listing the valid names."""

    def __init__(self, kind: str, key: str):
        self.kind = kind  # e.g. "basis"
        self.key = key  # config key the name comes from, e.g. "model.basis"
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(
                self.key, f"unknown {self.kind} {name!r}; choices: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items
