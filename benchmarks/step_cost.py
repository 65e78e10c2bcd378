"""Cost of one training step (loss + backward) on every shipped problem: each KAN basis against the MLP.

    OMP_NUM_THREADS=1 python benchmarks/step_cost.py [--problems kdv burgers1d] [--scales 1 4 16]
        [--rounds 7 5 3] [--out results/step_cost.md]

For each problem the loss is the one ``kanpde problem=<problem> model=<kan|mlp>`` trains (its
residual, conditions, weights, default collocation points and derivative engine, float64), built
from the composed config without training. Variants: the KAN with each basis (``model.basis=``
bspline, chebyshev, rbf; the problem's own KAN options otherwise, so the row marked ``*`` is the
problem's default KAN) and the problem's default MLP. At scale s the collocation counts
(``sampler.n_interior``, ``sampler.n_boundary``) are multiplied by s and every hidden width by
sqrt(s), so points and parameters both grow about s-fold; the parameter counts are printed.

Timing: the variants of one problem and scale are timed in interleaved rounds (``--rounds``, one
count per scale: a 16x step takes seconds; each round times every variant, ``reps`` steps each, ``reps`` chosen so one block takes about 50 ms), so drifting
machine load hits all alike. The table gives the median ms per step over rounds with the min-max,
and the ratio KAN / MLP computed round by round (median and min-max). The last line names the
worst ratio of the problems' default KAN over their default MLP at scale 1.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import torch

from kanpde.build import build_loop, build_net, instantiate_problem, select_dtype
from kanpde.config import compose

sys.path.insert(0, str(Path(__file__).parent))
from problem_table import all_problems  # noqa: E402

BASES = ("bspline", "chebyshev", "rbf")


def scaled(cfg_hidden: list[int], scale: float) -> str:
    return "[" + ",".join(str(max(1, round(w * math.sqrt(scale)))) for w in cfg_hidden) + "]"


def build(problem: str, model: str, extra: list[str], scale: float):
    """The problem's training loss for ``model`` with ``extra`` overrides at ``scale``: (loss, parameter count)."""
    base = compose(problem, model, [*extra, "output.progress=false"])
    overrides = [*extra, "output.progress=false"]
    if scale != 1:
        overrides += [f"sampler.n_interior={round(base.sampler.n_interior * scale)}",
                      f"sampler.n_boundary={round(base.sampler.n_boundary * scale)}",
                      f"model.hidden={scaled(list(base.model.hidden), scale)}"]
    cfg = compose(problem, model, overrides)
    torch.manual_seed(cfg.seed)
    prob = instantiate_problem(cfg.problem)
    net = build_net(prob, cfg.model, select_dtype(cfg.dtype), torch.device("cpu"))
    loop, _ = build_loop(cfg, prob, net, None)
    params = sum(p.numel() for p in loop.loss.parameters())
    return loop.loss, params


def step(loss) -> None:
    value, _ = loss()
    for p in loss.parameters():
        p.grad = None
    value.backward()


def measure(losses: dict[str, object], rounds: int) -> dict[str, list[float]]:
    """{variant: seconds per step in each round}, variants interleaved within every round."""
    reps = {}
    for name, loss in losses.items():
        step(loss)  # warm up (first-call allocations, lazy tables)
        start = time.perf_counter()
        step(loss)
        reps[name] = max(1, math.ceil(0.05 / max(time.perf_counter() - start, 1e-6)))
    times: dict[str, list[float]] = {name: [] for name in losses}
    for _ in range(rounds):
        for name, loss in losses.items():
            start = time.perf_counter()
            for _ in range(reps[name]):
                step(loss)
            times[name].append((time.perf_counter() - start) / reps[name])
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="*", default=None, help="default: every shipped problem")
    parser.add_argument("--scales", nargs="*", type=float, default=[1, 4, 16])
    parser.add_argument("--rounds", nargs="*", type=int, default=[7, 5, 3], help="per scale (the last for the rest)")
    parser.add_argument("--out", type=Path, default=None, help="also write the report here (markdown)")
    args = parser.parse_args()
    problems = args.problems or all_problems()
    lines: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    say(f"# One training step on every problem: `{' '.join(['python benchmarks/step_cost.py', *sys.argv[1:]])}`")
    say()
    say(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), float64, CPU; interleaved rounds per "
        "scale; loss + backward of each problem's own training loss; `*` the problem's default KAN basis; "
        "ratio = KAN / MLP per round, median (min-max)")
    worst: list[tuple[float, str]] = []
    for i, scale in enumerate(args.scales):
        rounds = args.rounds[min(i, len(args.rounds) - 1)]
        say()
        say(f"## {scale:g}x points and parameters ({rounds} rounds)")
        say()
        say("| problem | variant | points | params | ms/step | min-max | KAN/MLP | min-max |")
        say("|---|---|---|---|---|---|---|---|")
        for problem in problems:
            default = compose(problem, "kan").model.basis
            losses, params = {}, {}
            for basis in BASES:
                losses[basis], params[basis] = build(problem, "kan", [f"model.basis={basis}"], scale)
            losses["mlp"], params["mlp"] = build(problem, "mlp", [], scale)
            times = measure(losses, rounds)
            for name, t in times.items():
                ratio = [k / m for k, m in zip(t, times["mlp"])]
                label = f"kan {name}{' *' if name == default else ''}" if name != "mlp" else "mlp"
                cells = (f"{statistics.median(ratio):.2f} | {min(ratio):.2f}-{max(ratio):.2f}" if name != "mlp"
                         else "1 | ")
                n_points = sum(int(x.shape[0]) for x in losses[name].points.values())
                say(f"| {problem} | {label} | {n_points} | {params[name]} | {1e3 * statistics.median(t):.2f} | "
                    f"{1e3 * min(t):.2f}-{1e3 * max(t):.2f} | {cells} |")
                if name == default and scale == args.scales[0]:
                    worst.append((statistics.median(ratio), problem))
    say()
    ratio, problem = max(worst)
    say(f"worst default KAN / default MLP step at {args.scales[0]:g}x: {ratio:.2f} ({problem}); "
        f"best {min(worst)[0]:.2f} ({min(worst)[1]}); median {statistics.median(r for r, _ in worst):.2f}")
    if args.out is not None:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
