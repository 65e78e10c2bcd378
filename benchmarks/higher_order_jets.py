"""Cost of one training step (loss + backward) on the third-order residual of kdv: closed-form
jets against nested autograd, for the default KAN (B-splines), a Chebyshev KAN, the KKAN and the MLP
(``--problem``: any shipped problem).

    OMP_NUM_THREADS=1 python benchmarks/higher_order_jets.py [--problem kdv] [--rounds 15] [--reps 3]

Each variant is the shipped problem's own loss (its default collocation points, weights and
conditions) built from its config with ``diff=jet`` or ``diff=autograd`` on the same network and
points. Variants are timed in interleaved rounds (each round times every variant ``--reps`` steps),
so machine load hits all alike; printed: the median seconds per step over rounds with the min-max,
and per model the ratio autograd / jet measured in each round (median, min-max). The first lines
check that both engines give the same loss (float64 runs agree to ~1e-12).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from kanpde.build import build_loop, build_net, instantiate_problem, select_dtype
from kanpde.config import compose

MODELS = {"kan (bspline)": ("kan", []), "kan (chebyshev)": ("kan", ["model.basis=chebyshev"]), "kkan": ("kkan", []),
          "mlp": ("mlp", [])}


def losses(problem: str, model: str, extra: list[str]) -> dict[str, object]:
    """{engine: Loss} for the problem's default setup, one net and one point set shared."""
    out, net = {}, None
    for engine in ("jet", "autograd"):
        cfg = compose(problem, model, [*extra, f"diff={engine}", "output.progress=false"])
        torch.manual_seed(cfg.seed)
        prob = instantiate_problem(cfg.problem)
        dtype = select_dtype(cfg.dtype)
        net = net or build_net(prob, cfg.model, dtype, torch.device("cpu"))
        loop, _ = build_loop(cfg, prob, net, None)
        if out:
            loop.loss.points = next(iter(out.values())).points
        out[engine] = loop.loss
    return out


def step(loss) -> float:
    value, _ = loss()
    for p in loss.parameters():
        p.grad = None
    value.backward()
    return float(value.detach())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="kdv")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    variants = {}
    for name, (model, extra) in MODELS.items():
        pair = losses(args.problem, model, extra)
        values = {engine: step(loss) for engine, loss in pair.items()}
        print(f"{name}: loss jet {values['jet']:.12e}  autograd {values['autograd']:.12e}")
        variants.update({(name, engine): loss for engine, loss in pair.items()})
    times: dict[tuple[str, str], list[float]] = {key: [] for key in variants}
    for _ in range(args.rounds):
        for key, loss in variants.items():
            start = time.perf_counter()
            for _ in range(args.reps):
                step(loss)
            times[key].append((time.perf_counter() - start) / args.reps)
    print(f"\n{args.problem}, torch threads {torch.get_num_threads()}, {args.rounds} rounds x {args.reps} steps")
    print("| model | engine | s/step median | min-max |")
    print("|---|---|---|---|")
    for (name, engine), t in times.items():
        print(f"| {name} | {engine} | {statistics.median(t):.4f} | {min(t):.4f}-{max(t):.4f} |")
    print("\n| model | autograd / jet (per round) median | min-max |")
    print("|---|---|---|")
    for name in MODELS:
        r = [a / j for a, j in zip(times[(name, "autograd")], times[(name, "jet")])]
        print(f"| {name} | {statistics.median(r):.2f} | {min(r):.2f}-{max(r):.2f} |")
    mlp = statistics.median(times[("mlp", "autograd")])
    for name in MODELS:
        print(f"{name} with jets / mlp with autograd: {statistics.median(times[(name, 'jet')]) / mlp:.2f}")


if __name__ == "__main__":
    main()
