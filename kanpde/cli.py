"""The ``kanpde`` command: Hydra composes and validates the config, ``run.solve`` does the work.

Errors from bad input are printed as one line, ``kanpde: error: ...``, with exit code 1; pass
``debug=true`` to see the traceback instead.
"""
from __future__ import annotations

import dataclasses
import os
import re
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from .config import register_configs
from .errors import KanpdeError

register_configs()
_failed_jobs: list[str] = []  # run directories whose job failed (a multirun carries on past them)


@hydra.main(version_base="1.3", config_path="pkg://kanpde.conf", config_name="config")
def _app(cfg: DictConfig) -> float | None:
    from .run import solve  # imported here so that `kanpde --help` stays fast

    runtime = HydraConfig.get().runtime
    try:
        metrics = solve(cfg, Path(runtime.output_dir), runtime.choices.get("problem"), runtime.choices.get("model"))
    except Exception as exc:  # noqa: BLE001 - one line per failed job; debug=true re-raises
        if cfg.debug:
            raise
        _report(exc)
        _failed_jobs.append(runtime.output_dir)
        return None
    print(f"{metrics['problem']} / {metrics['model']}: rel_l2={metrics['rel_l2']:.3e} "
          f"max_abs_error={metrics['max_abs_error']:.3e} train_seconds={metrics['train_seconds']:.1f} "
          f"steps={metrics['adam_steps']}+{metrics['lbfgs_steps']} -> {runtime.output_dir}")
    return metrics["rel_l2"]


def _input_errors() -> tuple[type[BaseException], ...]:
    """Exception types that mean the command line or a config file was wrong."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    return KanpdeError, HydraException, OmegaConfBaseException


def describe(exc: BaseException) -> str:
    """One line saying what was wrong with the input."""
    from hydra.errors import MissingConfigException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

    if isinstance(exc, KanpdeError):
        return _first_line(str(exc))
    if isinstance(exc, MissingConfigException):
        match = re.search(r"Could not find '([^/']+)/([^']+)'", str(exc))
        if match:
            options = ", ".join(sorted(exc.options or []))
            return f"unknown {match.group(1)} {match.group(2)!r}; choices: {options}"
        return _first_line(str(exc))
    cause = exc.__cause__ or exc.__context__
    for err in (exc, cause):
        if isinstance(err, OmegaConfBaseException):
            key = getattr(err, "full_key", None)
            msg = _first_line(getattr(err, "msg", None) or str(err))
            if isinstance(err, (ConfigKeyError, ConfigAttributeError)) and key:
                kind = getattr(err, "object_type", None)
                valid = [f.name for f in dataclasses.fields(kind)] if dataclasses.is_dataclass(kind) else []
                return f"unknown config key {key!r}" + (f"; valid keys there: {', '.join(valid)}" if valid else "")
            return f"{key}: {msg}" if key else msg
    return f"{type(exc).__name__}: {_first_line(str(exc))}"


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def main() -> None:
    """Console entry point."""
    debug = any(re.fullmatch(r"\+*debug=(true|True|1)", arg) for arg in sys.argv[1:])
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # a user's own problem module next to where they run kanpde
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra re-raises; we print the one-line message
    try:
        _app()
    except BrokenPipeError:  # `kanpde --help | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except Exception as exc:  # noqa: BLE001 - reported as one line; debug=true re-raises
        if debug:
            raise
        _report(exc)
        sys.exit(1)
    if _failed_jobs:
        sys.exit(1)


def _report(exc: BaseException) -> None:
    hint = "" if isinstance(exc, _input_errors()) else " (debug=true shows the traceback)"
    print(f"kanpde: error: {describe(exc)}{hint}", file=sys.stderr)


if __name__ == "__main__":
    main()
