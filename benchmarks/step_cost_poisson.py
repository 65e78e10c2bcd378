"""Cost of one PINN training step (loss + backward) for kanpde's KAN, its MLP and pykan.

    python benchmarks/step_cost_poisson.py [--rounds 15] [--memory] [--out results/step_cost_poisson.md]

Workload (issue 7): Poisson on [-1, 1]^2, 441 interior points (21 x 21 grid) and 84 boundary
points, loss 0.01 * mean(lap u - f)^2 + mean(u_b - g)^2, one loss evaluation and one backward pass.
Every variant is timed in the same process in interleaved rounds (each round times every variant
once, ``--reps`` steps each), so machine load hits all alike; the table gives the median over
rounds and the min-max. pykan (``pip install pykan==0.2.8``) is optional and skipped with a note
when missing. The last line is ``kan/mlp=<x> pykan/kan=<y>``: kanpde's KAN [2,10,1] (closed-form
jets through the fused layers of nets/spline_jet.py, the default) over the tanh MLP
[2,20,20,20,1] with nested autograd, and pykan's default model over kanpde's KAN; the unfused jets
(``model.fused=false``) and their ``torch.compile`` (``optim.compile=true``) are rows of the table. ``--memory`` adds the peak resident memory one step adds (a fresh subprocess per
variant, for 4096 and 65536 points).
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import torch

from kanpde.pde import derivatives
from kanpde.nets import KAN, MLP, BSpline, SolutionNet

PI = math.pi


def points(n_side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Interior grid (n_side^2, 2) and boundary points (4 n_side, 2) on [-1, 1]^2."""
    s = torch.linspace(-1, 1, n_side)
    gx, gy = torch.meshgrid(s, s, indexing="ij")
    interior = torch.stack([gx.ravel(), gy.ravel()], 1)
    ones = torch.ones(n_side)
    boundary = torch.cat([torch.stack([-ones, s], 1), torch.stack([ones, s], 1),
                          torch.stack([s, -ones], 1), torch.stack([s, ones], 1)])
    return interior, boundary


def source(x: torch.Tensor) -> torch.Tensor:
    return -2 * PI**2 * torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])


COMPILE_SECONDS: dict[str, float] = {}


def kanpde_step(net: SolutionNet, engine: str, xi: torch.Tensor, xb: torch.Tensor,
                compile_as: str | None = None) -> Callable[[], None]:
    """One loss + backward; with ``compile_as`` the loss is torch.compiled (as optim.compile=true
    does in training) and its first, compiling call is timed into COMPILE_SECONDS."""
    def loss() -> torch.Tensor:
        d = derivatives(engine, net, xi, ("x", "y"), ("u",), order=2)
        pde = ((d.laplacian("u") - source(xi)) ** 2).mean()
        bc = (net(xb)[:, 0] ** 2).mean()
        return 0.01 * pde + bc

    if compile_as:
        loss()  # eager once, as the trainer's first evaluation does: constant tables are built outside tracing
        loss = torch.compile(loss)
        start = time.perf_counter()
        loss().backward()
        COMPILE_SECONDS[compile_as] = time.perf_counter() - start

    def step() -> None:
        net.zero_grad()
        loss().backward()
    return step


def pykan_step(speed: bool, xi: torch.Tensor, xb: torch.Tensor) -> Callable[[], None]:
    """pykan's PDE tutorial recipe: a [2,10,1] KAN, Laplacian from nested batch Jacobians."""
    from kan import KAN as PyKAN
    model = PyKAN(width=[2, 10, 1], grid=5, k=3, seed=0, auto_save=False)
    if speed:
        model.speed()

    def batch_jacobian(f, x):
        return torch.autograd.functional.jacobian(lambda z: f(z).sum(dim=0), x, create_graph=True).permute(1, 0, 2)

    def step() -> None:
        model.zero_grad()
        grad = lambda z: batch_jacobian(model, z)[:, 0, :]  # noqa: E731
        hessian = batch_jacobian(grad, xi)
        lap = torch.diagonal(hessian, dim1=1, dim2=2).sum(1)
        pde = ((lap - source(xi)) ** 2).mean()
        bc = (model(xb)[:, 0] ** 2).mean()
        (0.01 * pde + bc).backward()
    return step


def networks(widths_kan: list[int]) -> dict[str, SolutionNet]:
    torch.manual_seed(0)
    lo, hi = -torch.ones(2), torch.ones(2)
    nets = {"kan": SolutionNet(KAN(widths_kan, basis=BSpline(grid_size=5, order=3)), lo, hi),
            "mlp": SolutionNet(MLP([2, 20, 20, 20, 1], "tanh"), lo, hi)}
    torch.manual_seed(0)
    nets["kan_unfused"] = SolutionNet(KAN(widths_kan, basis=BSpline(grid_size=5, order=3), fused=False), lo, hi)
    return nets


def variants(workload: str, n_points: int | None = None) -> dict[str, Callable[[], Callable[[], None]]]:
    """Builders of each variant's step (built only when asked, so a memory probe sets up just one)."""
    if workload == "small":
        xi, xb = points(21)
        nets = networks([2, 10, 1])
    else:
        side = int(round(math.sqrt(n_points or 4096)))
        xi, xb = points(side)
        nets = networks([2, 8, 8, 1])
    out = {
        "kanpde KAN, jets": lambda: kanpde_step(nets["kan"], "jet", xi, xb),
        "kanpde KAN, jets, unfused (model.fused=false)": lambda: kanpde_step(nets["kan_unfused"], "jet", xi, xb),
        "kanpde KAN, jets, unfused + torch.compile":
            lambda: kanpde_step(nets["kan_unfused"], "jet", xi, xb, compile_as=workload),
        "kanpde KAN, nested autograd": lambda: kanpde_step(nets["kan"], "autograd", xi, xb),
        "MLP, nested autograd": lambda: kanpde_step(nets["mlp"], "autograd", xi, xb),
        "MLP, jets": lambda: kanpde_step(nets["mlp"], "jet", xi, xb),
    }
    if workload == "small" and importlib.util.find_spec("kan") is not None:
        for name, speed in (("pykan 0.2.8 default", False), ("pykan 0.2.8 speed()", True)):
            out[name] = lambda speed=speed: pykan_step(speed, xi, xb)
    return out


def built(builders: dict[str, Callable[[], Callable[[], None]]]) -> dict[str, Callable[[], None]]:
    return {name: build() for name, build in builders.items()}


def time_interleaved(steps: dict[str, Callable[[], None]], rounds: int, reps: int) -> dict[str, list[float]]:
    for step in steps.values():  # warm-up
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(reps):
                step()
            times[name].append((time.perf_counter() - start) / reps * 1e3)
    return times


REPORT: list[str] = []


def say(line: str) -> None:
    """Print a line of the report (and keep it for --out)."""
    print(line)
    REPORT.append(line)


def table(title: str, times: dict[str, list[float]]) -> None:
    say(f"\n{title}\n\n| variant | median ms/step | min - max |\n|---|---|---|")
    for name, ts in times.items():
        say(f"| {name} | {statistics.median(ts):.2f} | {min(ts):.2f} - {max(ts):.2f} |")


def peak_memory(variant: str, n_points: int) -> float:
    """MiB that one step adds to the peak resident set, measured in a fresh process."""
    result = subprocess.run([sys.executable, __file__, "--memory-of", variant, "--points", str(n_points)],
                            capture_output=True, text=True, check=True)
    return float(result.stdout.strip())


def _peak_rss_mib() -> float:
    """Peak resident set of this process in MiB: VmHWM on Linux (ru_maxrss would start at the
    parent's size when the parent forked us large), ru_maxrss elsewhere."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure_memory(variant: str, n_points: int) -> None:
    step = variants("large", n_points)[variant]()  # only this variant is set up
    before = _peak_rss_mib()
    step()
    print(_peak_rss_mib() - before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--out", type=Path, help="also write the report to this markdown file")
    parser.add_argument("--memory-of", help=argparse.SUPPRESS)
    parser.add_argument("--points", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_default_dtype(torch.float32)
    if args.memory_of:
        return _measure_memory(args.memory_of, args.points)
    say(f"# One PINN step: `{' '.join(['python benchmarks/step_cost_poisson.py', *sys.argv[1:]])}`")
    say(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads, float32, CPU; {args.rounds} interleaved rounds")
    small = built(variants("small"))
    if "pykan 0.2.8 default" not in small:
        say("pykan is not installed (pip install pykan==0.2.8): its rows are skipped")
    times = time_interleaved(small, args.rounds, args.reps)
    table("KAN [2,10,1] G=5 k=3 / MLP [2,20,20,20,1]; 441 interior + 84 boundary points", times)
    large = time_interleaved(built(variants("large", 4096)), max(3, args.rounds // 3), 2)
    table("KAN [2,8,8,1] G=5 k=3 / MLP [2,20,20,20,1]; 4096 interior + 256 boundary points", large)
    if args.memory:
        say("\n| variant | points | peak resident MiB added by one step (fresh process, VmHWM) |\n|---|---|---|")
        for n in (4096, 65536):
            for name in ("kanpde KAN, jets", "kanpde KAN, jets, unfused (model.fused=false)",
                         "kanpde KAN, nested autograd", "MLP, nested autograd"):
                say(f"| {name} | {n} | {peak_memory(name, n):.0f} |")
    say("\ntorch.compile: the first (compiling) step took "
        + ", ".join(f"{s:.1f} s ({w} workload)" for w, s in COMPILE_SECONDS.items()) + "; with it, kan/mlp="
        f"{statistics.median(times['kanpde KAN, jets, unfused + torch.compile']) / statistics.median(times['MLP, nested autograd']):.2f}"
        " (optim.compile=true, which traces the unfused ops; the line below is the default, fused path)")
    med = {name: statistics.median(ts) for name, ts in times.items()}
    kan, mlp = med["kanpde KAN, jets"], med["MLP, nested autograd"]
    pykan = med.get("pykan 0.2.8 default", math.nan)
    if args.out:
        args.out.write_text("\n".join(REPORT + ["", f"kan/mlp={kan / mlp:.2f} pykan/kan={pykan / kan:.1f}"]) + "\n")
    print(f"kan/mlp={kan / mlp:.2f} pykan/kan={pykan / kan:.1f}")


if __name__ == "__main__":
    main()
