"""The dense inverse-Hessian update: in place with one work buffer (quasi_newton.py) against the
same formula evaluated out of place (the update before it, four fresh n x n arrays per call).

    OMP_NUM_THREADS=1 python benchmarks/quasi_newton_update.py [--sizes 1000 4000 8000] [--rounds 7]

For each size n: the two variants alternate for ``rounds`` rounds on the same H, s, y (float64);
it prints the median seconds per update of each, the spread (min-max) and the ratio of the medians,
and each variant's peak resident memory in a fresh process (VmHWM of /proc/self/status, which,
unlike ru_maxrss, does not carry the parent's peak across exec; the whole process: Python, torch,
H and the vectors included). The last line gives the ratio at the largest size.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time

import torch

from kanpde.training.quasi_newton import inverse_hessian_update


def out_of_place(H: torch.Tensor, s: torch.Tensor, y: torch.Tensor, alpha: float, g: torch.Tensor) -> torch.Tensor:
    """The BFGS-family update as the code computed it before (phi = 1, tau = 1: BFGS): four fresh
    n x n temporaries (two outer products, their scaled copies, the sums)."""
    rho = 1.0 / float(y @ s)
    Hy = H @ y
    yHy = float(y @ Hy)
    v = rho * s - Hy / yHy
    H = H - torch.outer(Hy, Hy) / yHy + yHy * torch.outer(v, v)
    return H / 1.0 + rho * torch.outer(s, s)


def pair(n: int) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(n)
    g = torch.randn(n, generator=gen, dtype=torch.float64)
    s = -0.5 * g
    y = 2.0 * s + 1e-3 * torch.randn(n, generator=gen, dtype=torch.float64)  # y.s > 0
    return torch.eye(n, dtype=torch.float64), s, y, g


def high_water_mb() -> float:
    """This process's peak resident memory so far, MB (Linux: VmHWM)."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


def peak(variant: str, n: int) -> float:
    """Peak resident memory (MB) of a fresh process making three updates of size n."""
    code = (f"import torch, benchmarks.quasi_newton_update as b\n"
            f"H, s, y, g = b.pair({n}); work = torch.empty_like(H)\n"
            f"for _ in range(3):\n"
            f"    H = b.inverse_hessian_update(H, s, y, 0.5, g, 'bfgs', work=work) if '{variant}' == 'in_place' "
            f"else b.out_of_place(H, s, y, 0.5, g)\n"
            f"print(b.high_water_mb())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 8000])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), float64")
    print("| n | in place: median s (min-max) | out of place: median s (min-max) | out/in | peak MB in / out |")
    print("|---|---|---|---|---|")
    ratio = math.nan
    for n in args.sizes:
        H, s, y, g = pair(n)
        work, times = torch.empty_like(H), {"in": [], "out": []}
        for _ in range(args.rounds):
            H_in = H.clone()
            start = time.perf_counter()
            inverse_hessian_update(H_in, s, y, 0.5, g, "bfgs", work=work)
            times["in"].append(time.perf_counter() - start)
            start = time.perf_counter()
            H_out = out_of_place(H, s, y, 0.5, g)
            times["out"].append(time.perf_counter() - start)
            assert torch.equal(H_in, H_out)  # the same numbers, to the last bit
            del H_in, H_out
        med = {k: statistics.median(v) for k, v in times.items()}
        ratio = med["out"] / med["in"]
        spread = {k: f"{min(v):.3g}-{max(v):.3g}" for k, v in times.items()}
        print(f"| {n} | {med['in']:.3g} ({spread['in']}) | {med['out']:.3g} ({spread['out']}) | {ratio:.2f} | "
              f"{peak('in_place', n):.0f} / {peak('out_of_place', n):.0f} |", flush=True)
    print(json.dumps({"largest_n": args.sizes[-1], "out_of_place_over_in_place": round(ratio, 2)}))


if __name__ == "__main__":
    main()
