"""Options of a strategy: a dataclass declared beside the class it configures.

Every phase and loss weighting takes plain keyword arguments, ``Adam(steps=1000, lr=1e-2)``, which
fill its ``Options`` dataclass; the dataclass's fields are the strategy's config section
(``optim.adam``, ``optim.weighting.rba``: schema.py derives the Hydra schema from them) and its
``check`` refuses values out of range. An error names the option (``lr: must be > 0, got -1``);
the config layer puts the key of the section in front (``optim.adam.lr: ...``).

    @dataclass
    class AdamOptions(Options):
        steps: int = 1000
        lr: float = 1e-2
        def check(self) -> None:
            at_least(self, "steps", 0)
            above(self, "lr", 0)
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import ConfigError


@dataclass
class Options:
    """Base of every options dataclass: ``check`` runs on construction."""

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise ConfigError(option name, message) for a value out of range."""

    def as_dict(self) -> dict[str, Any]:
        """The options as plain values (a config section)."""
        return dataclasses.asdict(self)


class Configured:
    """An object built from keyword arguments that its Options dataclass checks (``options``: a
    phase, a weighting, a basis); its repr is the call that builds it again, ``Adam(steps=1000, ...)``."""

    options: Options

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.options.as_dict().items())})"


def build_options(cls: type[Options], values: Mapping[str, Any], owner: str) -> Options:
    """``cls(**values)``; an unknown option is refused with a one-line message naming ``owner``."""
    names = [f.name for f in dataclasses.fields(cls)]
    for key in values:
        if key not in names:
            raise ConfigError(str(key), f"not an option of {owner}; options: {', '.join(names) or 'none'}")
    return cls(**values)


def in_section(error: ConfigError, section: str) -> ConfigError:
    """The same error with the config section in front of its key: ``lr`` -> ``optim.adam.lr``."""
    message = str(error)[len(error.key) + 2:]
    return ConfigError(f"{section}.{error.key}", message)


def at_least(options: Options, name: str, minimum: float) -> None:
    """``options.name >= minimum`` (NaN refused)."""
    value = getattr(options, name)
    if not value >= minimum:
        raise ConfigError(name, f"must be >= {minimum}, got {value}")


def above(options: Options, name: str, minimum: float) -> None:
    """``options.name > minimum`` and finite."""
    value = getattr(options, name)
    if not (value > minimum and math.isfinite(value)):
        raise ConfigError(name, f"must be > {minimum}, got {value}")


def within(options: Options, name: str, lo: float, hi: float, closed: bool = False) -> None:
    """``lo <= options.name < hi`` (``<= hi`` when ``closed``)."""
    value = getattr(options, name)
    if not (lo <= value <= hi if closed else lo <= value < hi):
        raise ConfigError(name, f"must be in [{lo}, {hi}{']' if closed else ')'}, got {value}")


__all__ = ["Configured", "Options", "above", "at_least", "build_options", "in_section", "within"]
