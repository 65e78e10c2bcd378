"""Data parallelism's process group and reductions: one network trained by several processes
(``torchrun``), each on its own share of the collocation points, with every reduction done by
torch.distributed (gloo on CPU, NCCL on GPU). Every rank draws the same global set
(``sampler.n_interior`` x world size points: weak scaling) and keeps its own contiguous share, so
the ranks together hold exactly the points one process with ``n_interior * world`` would train on.
The loss and the agreement on stops that use these are data_parallel.py's. Only rank 0 writes.
"""
from __future__ import annotations

import datetime
import os
import re
from typing import Any, Callable, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor

from ..errors import KanpdeError, first_line

T = TypeVar("T")


class RankLost(KanpdeError):
    """A collective operation failed: another process of the run ended or cannot be reached."""


class DataParallel:
    """This process's place in a distributed run (``rank`` of ``size``) and the reductions it needs."""

    def __init__(self) -> None:
        self.rank, self.size = dist.get_rank(), dist.get_world_size()

    @staticmethod
    def current() -> DataParallel | None:
        """The distributed run this process belongs to (None: a single process)."""
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            return DataParallel()
        return None

    def _collective(self, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except (RuntimeError, dist.DistError) as exc:
            why = re.sub(r"^\[[^\]]*\]\s*", "", first_line(str(exc))).split(". ")[0]  # gloo: "[file:line] Read error..."
            raise RankLost(f"rank {self.rank}: another process of this {self.size}-process run ended or cannot "
                           f"be reached ({why})") from None

    # ----- points ----------------------------------------------------------------------------------
    def share(self, points: Tensor) -> Tensor:
        """This rank's contiguous share of the global ``points`` (N, d) -> (about N / size, d)."""
        return torch.tensor_split(points, self.size)[self.rank]

    def global_count(self, n: int) -> int:
        return int(self.sum(torch.tensor([float(n)], dtype=torch.float64))[0])

    # ----- reductions ------------------------------------------------------------------------------
    def sum(self, x: Tensor) -> Tensor:
        """The elementwise sum over ranks (a new tensor, on x's device)."""
        y = x.detach().clone()
        self._collective(lambda: dist.all_reduce(y, op=dist.ReduceOp.SUM))
        return y

    def mean(self, x: Tensor) -> Tensor:
        """The elementwise mean over ranks (a new tensor)."""
        return self.sum(x) / self.size

    def any(self, flag: bool) -> bool:
        return bool(self.sum(torch.tensor([float(flag)]))[0] > 0)

    def gather(self, x: Tensor) -> Tensor:
        """Every rank's ``x`` (n_r, ...) concatenated in rank order (sizes may differ)."""
        parts = self.gather_objects(x.detach().cpu())
        return torch.cat(parts).to(x.device)

    def gather_objects(self, obj: Any) -> list:
        out: list = [None] * self.size
        self._collective(lambda: dist.all_gather_object(out, obj))
        return out

    def broadcast(self, obj: T) -> T:
        """Rank 0's ``obj`` on every rank."""
        box = [obj]
        self._collective(lambda: dist.broadcast_object_list(box, src=0))
        return box[0]

    def average_gradients(self, parameters: list[Tensor]) -> None:
        """From now on every backward pass averages these parameters' gradients over the ranks
        (a hook per parameter, added once; new parameters, e.g. after a grid extension, get theirs)."""
        for p in parameters:
            if p.requires_grad and not getattr(p, "_kanpde_averaged", False):
                p.register_hook(self.mean)
                p._kanpde_averaged = True  # type: ignore[attr-defined]


def start_from_environment() -> DataParallel | None:
    """Under ``torchrun`` (WORLD_SIZE > 1 in the environment): join the process group (gloo for CPU
    tensors, NCCL for CUDA ones when available) and share rank 0's start time
    (``KANPDE_RUN_TIME``, the default run directory's name) with every rank."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    if not dist.is_initialized():
        nccl = torch.cuda.is_available() and dist.is_nccl_available()
        dist.init_process_group(backend="cpu:gloo,cuda:nccl" if nccl else "gloo")
        if nccl:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    parallel = DataParallel()
    os.environ["KANPDE_RUN_TIME"] = parallel.broadcast(datetime.datetime.now().isoformat())
    return parallel


__all__ = ["DataParallel", "RankLost", "start_from_environment"]
