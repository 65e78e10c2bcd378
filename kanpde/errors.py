"""User-facing errors: each is reported by the CLI as one line, without a traceback; ``describe``
turns Hydra's, OmegaConf's and YAML's errors into such a line too."""
from __future__ import annotations

import dataclasses
import re


class KanpdeError(Exception):
    """An error caused by the user's input (config, file, directory), printed as one line."""


class ConfigError(KanpdeError):
    """A config key has a bad value; the message starts with the dotted key."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(f"{key}: {message}")


def first_line(text: str) -> str:
    """The first non-blank line of ``text``, stripped ("" if none): what a one-line error shows."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def describe(exc: BaseException) -> str:
    """One line saying what was wrong with the input (a KanpdeError, Hydra or OmegaConf error)."""
    from hydra.errors import MissingConfigException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

    if isinstance(exc, KanpdeError):
        return first_line(str(exc))
    if isinstance(exc, MissingConfigException):
        match = re.search(r"Could not find '([^/']+)/([^']+)'", str(exc))
        if match:
            options = ", ".join(sorted(exc.options or []))
            return f"unknown {match.group(1)} {match.group(2)!r}; choices: {options}"
        return first_line(str(exc))
    cause = exc.__cause__ or exc.__context__
    for err in (exc, cause):
        mark = getattr(err, "problem_mark", None)  # a YAML syntax error (yaml.MarkedYAMLError)
        if mark is not None:
            problem = " ".join(filter(None, (getattr(err, "context", None), getattr(err, "problem", None))))
            return f"{mark.name}, line {mark.line + 1}, column {mark.column + 1}: malformed YAML ({problem})"
    for err in (exc, cause):
        if isinstance(err, OmegaConfBaseException):
            key = getattr(err, "full_key", None)
            msg = first_line(getattr(err, "msg", None) or str(err))
            if isinstance(err, (ConfigKeyError, ConfigAttributeError)) and key:
                kind = getattr(err, "object_type", None)
                valid = [f.name for f in dataclasses.fields(kind)] if dataclasses.is_dataclass(kind) else []
                return f"unknown config key {key!r}" + (f"; valid keys there: {', '.join(valid)}" if valid else "")
            return f"{key}: {msg}" if key else msg
    if isinstance(exc, OSError) and exc.filename is not None:  # e.g. Hydra creating hydra.run.dir
        return f"{exc.strerror or type(exc).__name__}: {exc.filename}"
    return f"{type(exc).__name__}: {first_line(str(exc))}"
