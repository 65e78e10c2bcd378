"""Formulas from small KANs on the two Poisson problems: results/interpret/ (figures, formulas, README.md).

    python benchmarks/interpret_poisson.py [--out results/interpret] [--seeds 0 1 2 3 4 5]

Every run is ``kanpde ...`` then ``kanpde-interpret RUN_DIR ...`` exactly as a user types them
(one thread each: these networks are tiny, and on a 2-core machine threads only contend):

- poisson2d: a [2, 2, 1] KAN (``model=kan_tiny``), pruned at 1e-2 and snapped with the whole library;
- poisson2d_kan_paper: a [2, 4, 1] KAN trained with the sparsity term, pruned at 5e-2, snapped with
  the whole library and with ``--library x,x^2,sin,cos``;
- both recipes again over ``--seeds`` (figures not kept), to show how often they recover the solution.

The outputs of the three main runs go to OUT/<case>/; OUT/README.md gets the numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sympy
import torch

X, Y = sympy.symbols("x y")
TRAIN = ("optim.adam.steps=1000", "optim.lbfgs.steps=1000", "output.figures=false", "output.progress=false")
RECIPES = {
    "poisson2d": {"train": ("problem=poisson2d", "model=kan_tiny", *TRAIN), "interpret": ("--prune", "1e-2"),
                  "exact": sympy.sin(sympy.pi * X) * sympy.sin(sympy.pi * Y)},
    "poisson2d_kan_paper": {"train": ("problem=poisson2d_kan_paper", "model=kan_tiny", "model.hidden=[4]",
                                      "optim.sparsity.weight=1e-2", *TRAIN[2:], "optim.adam.steps=2000",
                                      "optim.lbfgs.steps=2000"),
                            "interpret": ("--prune", "5e-2"),
                            "exact": sympy.sin(sympy.pi * X) * sympy.sin(sympy.pi * Y**2)},
}
LIBRARY = ("--library", "x,x^2,sin,cos")
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def command(name: str, *args: str) -> list[str]:
    return [str(Path(sys.executable).with_name(name)), *args]


def train(recipe: str, seed: int, run_dir: Path) -> dict:
    cmd = command("kanpde", *RECIPES[recipe]["train"], f"seed={seed}", f"hydra.run.dir={run_dir}")
    subprocess.run(cmd, check=True, capture_output=True, text=True, env=ENV)
    return json.loads((run_dir / "metrics.json").read_text())


def interpret(recipe: str, run_dir: Path, out: Path, *extra: str) -> dict:
    start = time.perf_counter()
    cmd = command("kanpde-interpret", str(run_dir), *RECIPES[recipe]["interpret"], *extra, "--out", str(out))
    subprocess.run(cmd, check=True, capture_output=True, text=True, env=ENV)
    summary = json.loads((out / "symbolic.json").read_text())
    formula = sympy.sympify(summary["formula"][0].split("=", 1)[1])
    summary["recovered"] = sympy.simplify(formula - RECIPES[recipe]["exact"]) == 0
    summary["wall_seconds"] = time.perf_counter() - start
    return summary


def shell(recipe: str, extra: tuple[str, ...] = ()) -> str:
    """The two commands of a recipe as a user types them."""
    train_args = " ".join(a if "[" not in a else f"'{a}'" for a in RECIPES[recipe]["train"])
    interpret_args = " ".join(f"'{a}'" if "^" in a else a for a in (*RECIPES[recipe]["interpret"], *extra))
    return f"kanpde {train_args} seed=0 hydra.run.dir=RUN\nkanpde-interpret RUN {interpret_args}"


def stage_rows(summary: dict) -> list[str]:
    rows = []
    for name, s in summary["stages"].items():
        widths = str(s.get("widths", "")) if "widths" in s else ""
        params = str(s.get("parameters", ""))
        rows.append(f"| {name} | {widths} | {params} | {s['rel_l2']:.2e} | {s['seconds']:.1f} |")
    return rows


def edge_rows(summary: dict) -> list[str]:
    rows = []
    for e in summary["edges"]:
        t = e["trained"]
        rows.append(f"| {e['layer']} | {e['from']} -> {e['to']} | {e['function']} | {e['r2']:.6f} | "
                    f"{t['a']:.6g}, {t['b']:.6g}, {t['c']:.6g}, {t['d']:.6g} |")
    return rows


def case_section(title: str, recipe: str, extra: tuple[str, ...], metrics: dict, summary: dict, folder: str) -> list[str]:
    lines = [f"## {title}", "", "```bash", shell(recipe, extra), "```", "",
             f"Training: {metrics['train_seconds']:.1f} s ({metrics['adam_steps']} Adam + {metrics['lbfgs_steps']} "
             f"L-BFGS steps), rel L2 {metrics['rel_l2']:.2e}. `kanpde-interpret`: {summary['wall_seconds']:.1f} s "
             "wall clock, start-up included.", "",
             "| stage | widths | parameters | rel L2 | seconds |", "|---|---|---|---|---|", *stage_rows(summary), "",
             f"Formula (rel L2 {summary['formula_rel_l2']:.2e} on the 101x101 test grid; before rounding the "
             f"constants {summary['formula_rel_l2_unrounded']:.2e}); equal to the exact solution "
             f"(sympy): **{'yes' if summary['recovered'] else 'no'}**:", "",
             "```", *summary["formula"], "```", "",
             "| layer | edge | function | R² of the fit | a, b, c, d after training on the PDE |", "|---|---|---|---|---|",
             *edge_rows(summary), "",
             f"![edges]({folder}/edges.png)", "", f"![edge grid]({folder}/edge_grid.png)", ""]
    return lines


def seed_rows(results: list[tuple[int, dict, dict]]) -> list[str]:
    rows = ["| seed | trained rel L2 | widths after pruning | formula rel L2 | recovered | formula |", "|---|---|---|---|---|---|"]
    for seed, metrics, s in results:
        widths = s["stages"].get("pruned", s["stages"]["trained"])["widths"]
        formula = s["formula"][0].split("=", 1)[1].strip()
        formula = formula if len(formula) <= 70 else formula[:67] + "..."
        rows.append(f"| {seed} | {metrics['rel_l2']:.2e} | {widths} | {s['formula_rel_l2']:.2e} | "
                    f"{'yes' if s['recovered'] else 'no'} | `{formula}` |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/interpret"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    cases = [("poisson2d", "poisson2d", ()), ("poisson2d_kan_paper", "poisson2d_kan_paper", ()),
             ("poisson2d_kan_paper_library", "poisson2d_kan_paper", LIBRARY)]
    main_runs, seeds = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for recipe in RECIPES:
            metrics = train(recipe, 0, tmp / recipe)
            for folder, r, extra in cases:
                if r == recipe:
                    main_runs[folder] = (metrics, interpret(recipe, tmp / recipe, args.out / folder, *extra))
                    print(f"{folder}: {main_runs[folder][1]['formula'][0]}", flush=True)
        for recipe, extra in (("poisson2d", ()), ("poisson2d_kan_paper", LIBRARY)):
            seeds[recipe] = []
            for seed in args.seeds:
                run = tmp / f"{recipe}-{seed}"
                metrics = train(recipe, seed, run)
                seeds[recipe].append((seed, metrics, interpret(recipe, run, tmp / f"out-{recipe}-{seed}", *extra)))
                print(f"{recipe} seed {seed}: recovered={seeds[recipe][-1][2]['recovered']}", flush=True)

    paper_full, paper_lib = main_runs["poisson2d_kan_paper"][1], main_runs["poisson2d_kan_paper_library"][1]
    ok = {r: sum(s["recovered"] for _, _, s in rows) for r, rows in seeds.items()}
    lines = ["# Looking inside trained KANs: formulas of the Poisson solutions", "",
             f"Generated by `python benchmarks/interpret_poisson.py{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}`; "
             f"{platform.machine()}, 1 thread, torch {torch.__version__}, sympy {sympy.__version__}, float64.", "",
             "Each case trains a small KAN with `kanpde`, then `kanpde-interpret` prunes it, retrains it for up to 200 "
             "L-BFGS steps, fits every edge with the candidate library (a f(b x + c) + d), snaps each edge to the "
             "simplest function within 1e-3 of the best R², trains the snapped formula's parameters against the PDE "
             "loss (L-BFGS, float64, up to 500 steps), rounds its constants and simplifies it.", "",
             "## Summary", "",
             f"- `poisson2d` (exact sin(πx) sin(πy)), [2, 2, 1] KAN, seed 0: `{main_runs['poisson2d'][1]['formula'][0]}`, "
             f"rel L2 {main_runs['poisson2d'][1]['formula_rel_l2']:.1e}. Over seeds {args.seeds}: recovered in "
             f"{ok['poisson2d']} of {len(args.seeds)}.",
             f"- `poisson2d_kan_paper` (exact sin(πx) sin(πy²)), [2, 4, 1] KAN with the sparsity term, seed 0, whole "
             f"library: `{paper_full['formula'][0]}`, rel L2 {paper_full['formula_rel_l2']:.1e} "
             f"(recovered: {'yes' if paper_full['recovered'] else 'no'}).",
             f"- The same with `--library x,x^2,sin,cos`: `{paper_lib['formula'][0]}`, rel L2 "
             f"{paper_lib['formula_rel_l2']:.1e} (recovered: {'yes' if paper_lib['recovered'] else 'no'}); over seeds "
             f"{args.seeds}: recovered in {ok['poisson2d_kan_paper']} of {len(args.seeds)}.", ""]
    titles = {"poisson2d": "poisson2d: a [2, 2, 1] KAN, whole library",
              "poisson2d_kan_paper": "poisson2d_kan_paper: a [2, 4, 1] KAN with the sparsity term, whole library",
              "poisson2d_kan_paper_library": "poisson2d_kan_paper: the same run, `--library x,x^2,sin,cos`"}
    for folder, recipe, extra in cases:
        lines += case_section(titles[folder], recipe, extra, *main_runs[folder], folder)
    lines += ["## Over seeds", "", "poisson2d, the [2, 2, 1] recipe above (whole library):", "", *seed_rows(seeds["poisson2d"]),
              "", "poisson2d_kan_paper, the [2, 4, 1] recipe above with `--library x,x^2,sin,cos`:", "",
              *seed_rows(seeds["poisson2d_kan_paper"]), ""]
    (args.out / "README.md").write_text("\n".join(lines))
    print(f"wrote {args.out / 'README.md'}")


if __name__ == "__main__":
    main()
