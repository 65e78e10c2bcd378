"""Data-parallel scaling on this machine: ms per Adam step of one run over a fixed number of
collocation points, trained by 1 process or by ``torchrun`` with 2 processes (each with half).

    python benchmarks/scaling.py [--points 65536] [--steps 60] [--repeats 3] [--problem poisson2d]
                                 [--model kan] [--out results/scaling.md]

The configurations run interleaved (1 process with 1 thread, 1 process with 2 threads, 2
processes with 1 thread each), ``--repeats`` times each; a step's time is the run's training
clock (history ``elapsed_s``, evaluation and checkpoints excluded) over its Adam steps, the first
10 steps left out (warm-up). Prints and writes the median and the range of each, and the speed-up
of 2 processes over each 1-process configuration as the ratio of the medians.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import torch

WARMUP = 10


def ms_per_step(run_dir: Path) -> float:
    with h5py.File(run_dir / "history.h5") as f:
        elapsed = f["elapsed_s"][:]
    return 1e3 * (elapsed[-1] - elapsed[WARMUP - 1]) / (len(elapsed) - WARMUP)


def run(name: str, processes: int, threads: int, args: argparse.Namespace, folder: Path) -> float:
    run_dir = folder / name
    share = args.points // processes
    overrides = [f"problem={args.problem}", f"model={args.model}", f"optim.adam.steps={args.steps}",
                 "optim.lbfgs.steps=0", f"sampler.n_interior={share}", "output.figures=false", "output.progress=false",
                 "output.eval_every=0", "output.checkpoint_every=1000000", f"hydra.run.dir={run_dir}"]
    kanpde = str(Path(sys.executable).with_name("kanpde"))  # the installed command (not the source tree)
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
                 "--no-python", kanpde] if processes > 1 else [kanpde])
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    result = subprocess.run([*launcher, *overrides], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"scaling: {name} failed:\n{result.stderr[-2000:]}")
    return ms_per_step(run_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=65536)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--problem", default="poisson2d")
    parser.add_argument("--model", default="kan")
    parser.add_argument("--out", type=Path, default=Path("results/scaling.md"))
    args = parser.parse_args()
    configs = {"1 process, 1 thread": (1, 1), "1 process, 2 threads": (1, 2), "2 processes, 1 thread each": (2, 1)}
    times: dict[str, list[float]] = {name: [] for name in configs}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for i, (name, (processes, threads)) in enumerate(configs.items()):
                times[name].append(run(f"{repeat}-{i}", processes, threads, args, Path(tmp)))
                print(f"{name}: {times[name][-1]:.1f} ms/step", flush=True)
    two = statistics.median(times["2 processes, 1 thread each"])
    lines = [f"# Data-parallel scaling: {args.problem}, model={args.model}, {args.points:,} collocation points",
             "", f"Command: `python benchmarks/scaling.py --points {args.points} --steps {args.steps} "
             f"--repeats {args.repeats} --problem {args.problem} --model {args.model}`. Machine: {platform.machine()}, "
             f"{os.cpu_count()} CPU cores, torch {torch.__version__}, gloo. ms per Adam step, steps {WARMUP}-{args.steps} "
             f"of each run, median (min-max) of {args.repeats} interleaved runs.", "",
             "| configuration | ms per step | 2 processes are faster by |", "|---|---|---|"]
    for name, values in times.items():
        median = statistics.median(values)
        ratio = "" if name.startswith("2 processes") else f"{median / two:.2f}x"
        lines.append(f"| {name} | {median:.1f} ({min(values):.1f}-{max(values):.1f}) | {ratio} |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
