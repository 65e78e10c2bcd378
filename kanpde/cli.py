"""The ``kanpde`` command: Hydra composes and validates the config, ``solve.run`` does the work.

Errors from bad input are printed as one line, ``kanpde: error: ...``, with exit code 1 (a run
stopped by SIGTERM or SIGINT: 128 + the signal number, after its checkpoint and outputs are
written); pass ``debug=true`` to see the traceback instead. Under ``torchrun`` (WORLD_SIZE > 1)
every process joins one data-parallel run (training/distributed.py); rank 0 reports and writes.
The run writes its own .hydra/config.yaml and overrides.yaml once its checks have passed, so a
refused start leaves a run directory as it was.
"""
from __future__ import annotations

import math
import os
import re
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from .config import choice
from .schema import import_plugins, plugins_in, register_configs
from .errors import KanpdeError, describe

_failed_jobs: list[str] = []  # run directories whose job failed (a multirun carries on past them)


@hydra.main(version_base="1.3", config_path="pkg://kanpde.conf", config_name="config")
def _app(cfg: DictConfig) -> float:
    """One job: its ``output.objective`` (NaN for a failed job, which a sweeper records as failed)."""
    from .run import run  # imported here so that `kanpde --help` stays fast
    from .training import Interrupted

    hydra_cfg = HydraConfig.get()
    runtime = hydra_cfg.runtime
    try:
        metrics = run(cfg, Path(runtime.output_dir), problem_name=runtime.choices.get("problem"),
                      model_name=runtime.choices.get("model"), overrides=list(hydra_cfg.overrides.task)).metrics
    except Interrupted:
        raise  # a signal ends a sweep too
    except Exception as exc:  # noqa: BLE001 - one line per failed job; debug=true re-raises
        if cfg.debug:
            raise
        _report(exc)
        _failed_jobs.append(runtime.output_dir)
        return math.nan
    objective = float(metrics[choice(cfg.output.objective)])
    if os.environ.get("RANK", "0") != "0":
        return objective
    scores = (f"rel_l2={metrics['rel_l2']:.3e} max_abs_error={metrics['max_abs_error']:.3e}"
              if math.isfinite(metrics["rel_l2"]) else f"no reference data, final_loss={metrics['final_loss']:.3e}")
    print(f"{metrics['problem']} / {metrics['model']}: {scores} train_seconds={metrics['train_seconds']:.1f} "
          f"steps={'+'.join(str(metrics[f'{name}_steps']) for name in cfg.optim.phases)} -> {runtime.output_dir}")
    return objective


def _input_errors() -> tuple[type[BaseException], ...]:
    """Exception types that mean the command line or a config file was wrong."""
    import yaml
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    return KanpdeError, HydraException, OmegaConfBaseException, yaml.YAMLError


def main() -> None:
    """Console entry point."""
    debug = any(re.fullmatch(r"\+*debug=(true|True|1)", arg) for arg in sys.argv[1:])
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # a user's own problem module next to where they run kanpde
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra re-raises; we print the one-line message
    try:
        import_plugins(plugins_in(sys.argv[1:]))  # their strategies' sections join the schema
        register_configs()
        _join_data_parallel_run()
        _app()
    except BrokenPipeError:  # `kanpde --help | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except KeyboardInterrupt:  # outside training (training itself stops cleanly: training/interrupt.py)
        if debug:
            raise
        print("kanpde: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - reported as one line; debug=true re-raises
        if debug:
            raise
        _report(exc)
        sys.exit(getattr(exc, "exit_code", 1))
    if _failed_jobs:
        sys.exit(1)


def _join_data_parallel_run() -> None:
    """Under torchrun: join the process group before Hydra names the run directory (from rank 0's
    start time, so that every rank names the same one); the ranks after 0 log warnings only."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return
    import atexit
    import logging

    import torch.distributed as dist

    from .training.distributed import start_from_environment

    start_from_environment()
    atexit.register(lambda: dist.is_initialized() and dist.destroy_process_group())
    if dist.get_rank() > 0:
        logging.getLogger("kanpde").setLevel(logging.WARNING)


def _report(exc: BaseException) -> None:
    hint = "" if isinstance(exc, _input_errors()) else " (debug=true shows the traceback)"
    print(f"kanpde: error: {describe(exc)}{hint}", file=sys.stderr)


if __name__ == "__main__":
    main()
