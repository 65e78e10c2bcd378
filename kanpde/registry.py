"""Name registries: a new basis, model or loss weighting is one class plus one decorator line.

A registry is the one list of choices for a config key: its error lists the valid names, and
schema.py derives the schema of a strategy's section from the classes registered in it."""
from __future__ import annotations

from typing import Callable, Generic, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to classes. ``get`` raises a ConfigError listing the valid names."""

    def __init__(self, kind: str, key: str, label: bool = False):
        self.kind = kind  # e.g. "basis"
        self.key = key  # config key the name comes from, e.g. "model.basis"
        self.label = label  # True: a registered class gets its name as the class attribute ``name``
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            if self.label:
                obj.name = name  # type: ignore[attr-defined]
            return obj

        return decorator

    def get(self, name: str, key: str | None = None) -> T:
        """The object registered as ``name``; a ConfigError at ``key`` (default: the registry's
        config key) lists the choices."""
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(
                key or self.key, f"unknown {self.kind} {name!r}; choices: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        """(name, object) in the order of registration."""
        return list(self._items.items())

    def index(self, name: str) -> int:
        """The place of ``name`` in the order of registration (a phase's number in history.h5)."""
        self.get(name)
        return list(self._items).index(name)

    def __contains__(self, name: str) -> bool:
        return name in self._items
