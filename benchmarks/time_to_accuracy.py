"""Time to reach a test error on poisson2d: kanpde's KAN and MLP against pykan's own PDE recipe.

    pip install pykan==0.2.8          # optional: pykan's rows are skipped without it
    python benchmarks/time_to_accuracy.py [--seeds 0 1 2] [--budget 120] [--out results] [kanpde overrides...]

Every run is a fresh process with the same training-time budget; seeds outer, solvers inner, so the
three see the same machine load. The clock counts training only: each solver's test error on the
same 101 x 101 grid is taken with the clock stopped.

- kanpde: ``kanpde model=<kan|mlp> seed=<s> optim.time_limit=<budget> optim.lbfgs.steps=1000000
  output.eval_every=10`` (the defaults otherwise: 1000 Adam steps, then L-BFGS, float64; the KAN
  is [2, 8, 8, 1] with sextic B-splines on 5 intervals, conf/problem_model/poisson2d_kan.yaml); the
  curve is history.h5's eval rows.
- pykan: the recipe of its PDE-accuracy tutorial (Example 7), as written there: a [2, 2, 1] KAN with
  ``speed()``, 51 x 51 interior mesh points and 4 x 51 boundary points, loss 0.01 pde + bc with the
  Laplacian from nested ``batch_jacobian``, its LBFGS (lr 1, history 10, strong Wolfe), 50 steps on
  each grid of 5, 10, 20 (``refine``), ``update_grid_from_samples`` every 5 steps for the first 20;
  float32, its default. The test error is taken after every L-BFGS step.

Writes ``<out>/time_to_accuracy.{md,csv}`` and ``<out>/time_to_accuracy.png/.pdf`` (test error
against training seconds, every run).
"""
from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

LEVELS = (1e-2, 1e-3, 1e-4)
SOLVERS = ("kanpde kan", "kanpde mlp", "pykan recipe")


def test_grid() -> tuple[torch.Tensor, torch.Tensor]:
    """poisson2d's test set: the 101 x 101 grid on [-1, 1]^2 and sin(pi x) sin(pi y) there."""
    from kanpde.problems import Poisson2D
    test = Poisson2D().test_set()
    return torch.as_tensor(test.points), torch.as_tensor(test.values[:, 0])


def kanpde_curve(model: str, seed: int, budget: float, workdir: Path, extra: list[str]) -> dict:
    """One ``kanpde`` run; its (seconds, rel L2) curve from history.h5."""
    from kanpde.io import read_history
    run_dir = workdir / f"{model}-{seed}"
    exe = Path(sys.executable).with_name("kanpde")
    cmd = [str(exe), f"model={model}", f"seed={seed}", f"optim.time_limit={budget}", "optim.lbfgs.steps=1000000",
           "output.eval_every=10", "output.progress=false", "output.figures=false", f"hydra.run.dir={run_dir}", *extra]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    history = read_history(run_dir / "history.h5")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"seconds": history["eval/elapsed_s"].tolist(), "rel_l2": history["eval/rel_l2"].tolist(),
            "final": metrics["rel_l2"], "params": metrics["n_params"]}


def pykan_curve(seed: int, budget: float) -> dict:
    """pykan's Example 7 recipe (see the module docstring), stopped when the budget is spent."""
    from kan import KAN, LBFGS

    def batch_jacobian(func, x):
        return torch.autograd.functional.jacobian(lambda z: func(z).sum(dim=0), x, create_graph=True).permute(1, 0, 2)

    exact = lambda x: torch.sin(torch.pi * x[:, [0]]) * torch.sin(torch.pi * x[:, [1]])  # noqa: E731
    source = lambda x: -2 * torch.pi ** 2 * exact(x)  # noqa: E731
    mesh = torch.linspace(-1, 1, 51)
    X, Y = torch.meshgrid(mesh, mesh, indexing="ij")
    pair = lambda a, b: torch.stack([a.reshape(-1), b.reshape(-1)], dim=1)  # noqa: E731
    x_i = pair(X, Y)
    x_b = torch.cat([pair(X[0], Y[0]), pair(X[-1], Y[0]), pair(X[:, 0], Y[:, 0]), pair(X[:, 0], Y[:, -1])])
    x_test, u_test = test_grid()
    x_test, u_test = x_test.float(), u_test.float()

    def test_error() -> float:
        with torch.no_grad():
            u = model(x_test)[:, 0]
        return float(torch.linalg.norm(u - u_test) / torch.linalg.norm(u_test))

    model = KAN(width=[2, 2, 1], grid=5, k=3, seed=seed, auto_save=False).speed()
    seconds, errors, elapsed = [0.0], [test_error()], 0.0  # the untrained model at 0 s
    for grid in (5, 10, 20):
        start = time.perf_counter()
        if grid > 5:
            model.save_act = True  # refine() re-runs the model and fits the finer grid to its saved activations
            model.get_act(x_i)
            model = model.refine(grid).speed()
        optimizer = LBFGS(model.parameters(), lr=1, history_size=10, line_search_fn="strong_wolfe",
                          tolerance_grad=1e-32, tolerance_change=1e-32, tolerance_ys=1e-32)
        elapsed += time.perf_counter() - start

        def closure():
            optimizer.zero_grad()
            grad = lambda z: batch_jacobian(model, z)[:, 0, :]  # noqa: E731
            lap = torch.diagonal(batch_jacobian(grad, x_i), dim1=1, dim2=2).sum(1, keepdim=True)
            loss = 0.01 * ((lap - source(x_i)) ** 2).mean() + ((model(x_b) - exact(x_b)) ** 2).mean()
            loss.backward()
            return loss

        for step in range(50):
            start = time.perf_counter()
            if step % 5 == 0 and step < 20:
                model.update_grid_from_samples(x_i)
            optimizer.step(closure)
            elapsed += time.perf_counter() - start
            seconds.append(elapsed)
            errors.append(test_error())
            if elapsed >= budget:
                break
        if elapsed >= budget:
            break
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"seconds": seconds, "rel_l2": errors, "final": errors[-1], "params": n_params}


def pykan_in_subprocess(seed: int, budget: float, workdir: Path) -> dict | None:
    """The pykan recipe in a fresh process (pykan's refine writes ./model, so a scratch directory)."""
    out = workdir / f"pykan-{seed}.json"
    cwd = workdir / f"pykan-{seed}"
    cwd.mkdir()
    result = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--pykan-worker", "--seeds", str(seed),
                             "--budget", str(budget), "--out", str(out)], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        if "No module named 'kan'" in result.stderr:
            return None
        raise RuntimeError(f"pykan run failed: {result.stderr.strip().splitlines()[-1]}")
    return json.loads(out.read_text())


def reached(curve: dict, level: float) -> float | None:
    """Training seconds until the test error first fell to ``level`` (None: never)."""
    for s, e in zip(curve["seconds"], curve["rel_l2"]):
        if e <= level:
            return s
    return None


def spread(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def report(curves: dict[str, list[dict]], args: argparse.Namespace) -> list[str]:
    command = " ".join(["python benchmarks/time_to_accuracy.py", *sys.argv[1:]])
    lines = [f"# Time to accuracy on poisson2d: `{command}`", "",
             f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
             f"training budget {args.budget:g} s per run; seeds {', '.join(map(str, args.seeds))}. "
             "Median (min-max) over the runs that got there, [reached/runs]; test error on the 101 x 101 grid.", "",
             "| solver | parameters | final rel L2 | " + " | ".join(f"s to {lv:g}" for lv in LEVELS) + " |",
             "|---|---|---|" + "---|" * len(LEVELS)]
    for solver, runs in curves.items():
        cells = []
        for level in LEVELS:
            times = [t for t in (reached(c, level) for c in runs) if t is not None]
            cells.append(f"{spread(times, '.1f') if times else '-'} [{len(times)}/{len(runs)}]")
        lines.append(f"| {solver} | {runs[0]['params']} | {spread([c['final'] for c in runs], '.2e')} | "
                     + " | ".join(cells) + " |")
    return lines


def plot(curves: dict[str, list[dict]], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for (solver, runs), colour in zip(curves.items(), ("tab:blue", "tab:orange", "tab:gray")):
        for i, c in enumerate(runs):
            ax.step(c["seconds"], c["rel_l2"], where="post", color=colour, alpha=0.8, lw=1.2,
                    label=solver if i == 0 else None)
    for level in LEVELS:
        ax.axhline(level, color="k", lw=0.5, ls=":")
    ax.set(xlabel="training seconds", ylabel="rel. L2 error (test grid)", yscale="log", title="poisson2d")
    ax.legend()
    fig.tight_layout()
    for suffix in (".png", ".pdf"):
        fig.savefig(path.with_suffix(suffix), dpi=150)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=float, default=120.0, help="training seconds per run")
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--pykan-worker", action="store_true", help=argparse.SUPPRESS)
    args, extra = parser.parse_known_args()
    if args.pykan_worker:
        args.out.write_text(json.dumps(pykan_curve(args.seeds[0], args.budget)))
        return
    curves: dict[str, list[dict]] = {s: [] for s in SOLVERS}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for solver in SOLVERS:
                if solver == "pykan recipe":
                    curve = pykan_in_subprocess(seed, args.budget, Path(tmp))
                    if curve is None:
                        print("pykan is not installed (pip install pykan==0.2.8): its rows are skipped")
                        curves.pop(solver)
                        continue
                else:
                    curve = kanpde_curve(solver.split()[1], seed, args.budget, Path(tmp), extra)
                curves[solver].append(curve)
                times = ", ".join(f"{lv:g}: {reached(curve, lv) or '-'}" for lv in LEVELS)
                print(f"{solver} seed={seed}: final rel_l2={curve['final']:.3e}; seconds to {times}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "time_to_accuracy.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["solver", "seed", "params", "final_rel_l2", *(f"seconds_to_{lv:g}" for lv in LEVELS)])
        for solver, runs in curves.items():
            for seed, c in zip(args.seeds, runs):
                writer.writerow([solver, seed, c["params"], c["final"], *(reached(c, lv) for lv in LEVELS)])
    lines = report(curves, args)
    lines += ["", "![test error against training seconds](time_to_accuracy.png)"]
    (args.out / "time_to_accuracy.md").write_text("\n".join(lines) + "\n")
    plot(curves, args.out / "time_to_accuracy.png")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
