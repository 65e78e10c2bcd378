"""Run by tests/test_distributed.py under torchrun: kanpde.solve from Python in a data-parallel
run. ``python data_parallel.py RUN_DIR ACTION [overrides...]``; ACTION: ``train`` (to the end),
``term12`` (rank 0 sends itself SIGTERM at step 12; every rank stops there), ``kill5`` (rank 1
kills itself at step 5) or ``resume``."""
import os
import signal
import sys

import torch.distributed as dist

import kanpde

run_dir, action, *overrides = sys.argv[1:]
dist.init_process_group("gloo")
rank = dist.get_rank()


class Signal(kanpde.Callback):
    def __init__(self, at: int, rank: int, signum: int):
        self.at, self.rank, self.signum = at, rank, signum

    def on_step_end(self, loop, step):
        if step.index == self.at and dist.get_rank() == self.rank:
            os.kill(os.getpid(), self.signum)


callbacks = {"term12": [Signal(12, 0, signal.SIGTERM)], "kill5": [Signal(5, 1, signal.SIGKILL)]}.get(action, [])
try:
    kanpde.solve("poisson2d", "kan_small", overrides=[*overrides, *(["resume=true"] if action == "resume" else [])],
                 run_dir=run_dir, callbacks=callbacks)
except kanpde.KanpdeError as exc:
    print(f"rank {rank}: {type(exc).__name__}: {exc}", file=sys.stderr)
    sys.exit(getattr(exc, "exit_code", 1))
finally:
    if dist.is_initialized():
        dist.destroy_process_group()
