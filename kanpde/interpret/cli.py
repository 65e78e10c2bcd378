"""``kanpde-interpret RUN_DIR``: edge plots, pruning and a symbolic formula of a trained KAN run.

Writes into RUN_DIR (or --out): edges.png/.pdf (network diagram), edge_grid.png/.pdf (every edge
with axes), and with the symbolic snap (default) formula.txt, formula.tex; always symbolic.json
(stages with parameters and rel L2, per edge the chosen function, affine parameters and R^2, the
formula and its rel L2). Bad input is one line ``kanpde-interpret: error: ...``, exit 1 (2 for
bad arguments).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Sequence

from ..errors import KanpdeError
from ..io import atomic_path, make_folder, write_json

if TYPE_CHECKING:  # the heavy modules load only once the arguments are good
    from ..solution import Solution
    from .workflow import Interpretation, Options

PROG = "kanpde-interpret"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{PROG}: error: {message}", file=sys.stderr)
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path, help="a kanpde run directory of a KAN (holding checkpoint.pt)")
    p.add_argument("--out", type=Path, help="folder for the outputs (default: RUN_DIR)")
    p.add_argument("--prune", type=float, metavar="THRESH", help="prune edges with mean |phi| below THRESH, "
                   "then hidden nodes without live edges in and out")
    p.add_argument("--prune-steps", type=int, default=200, help="L-BFGS steps retraining the pruned KAN (200)")
    p.add_argument("--symbolic", choices=("auto", "off"), default="auto",
                   help="auto: snap every edge to its best library function and train the formula (default)")
    p.add_argument("--library", help="comma-separated candidate functions (default: all), e.g. x,x^2,sin,cos")
    p.add_argument("--r2-tol", type=float, default=1e-3,
                   help="take the simplest function whose R^2 is within this of the best (1e-3)")
    p.add_argument("--steps", type=int, default=500, help="L-BFGS steps training the snapped formula (500)")
    p.add_argument("--round-tol", type=float, default=1e-6,
                   help="relative tolerance for replacing constants by p/q or p/q*pi (1e-6)")
    p.add_argument("--digits", type=int, default=6, help="significant digits of the other constants (6)")
    return p


def _options(args: argparse.Namespace) -> Options:
    from .library import select
    from .workflow import Options

    for name, value, minimum in (("--prune", args.prune, 0), ("--prune-steps", args.prune_steps, 0),
                                 ("--steps", args.steps, 0), ("--r2-tol", args.r2_tol, 0),
                                 ("--round-tol", args.round_tol, 0), ("--digits", args.digits, 1)):
        if value is not None and value < minimum:
            raise KanpdeError(f"{name} must be >= {minimum}, got {value}")
    library = None if args.library is None else [n.strip() for n in args.library.split(",") if n.strip()]
    select(library)
    return Options(prune=args.prune, prune_steps=args.prune_steps, symbolic=args.symbolic == "auto",
                   library=library, r2_tol=args.r2_tol, symbolic_steps=args.steps, round_tol=args.round_tol,
                   digits=args.digits)


def _edges_json(result: Interpretation, names: list[list[str]]) -> list[dict]:
    trained = result.symbolic.core.edges() if result.symbolic is not None else {}
    rows = []
    for (l, i, o), fits in result.fits.items():
        fit = result.chosen[(l, i, o)]
        _, (a, b, c, d) = trained[(l, i, o)]
        rows.append({"layer": l + 1, "from": names[l][i], "to": names[l + 1][o], "function": fit.name,
                     "r2": fit.r2, "complexity": fit.complexity,
                     "fitted": {"a": fit.a, "b": fit.b, "c": fit.c, "d": fit.d},
                     "trained": {"a": a, "b": b, "c": c, "d": d},
                     "ranking": [{"function": f.name, "r2": f.r2, "complexity": f.complexity} for f in fits[:5]]})
    return rows


def write_outputs(run: Solution, result: Interpretation, opts: Options, out: Path) -> list[Path]:
    """Every output file of ``result`` into ``out``, atomically; returns their paths."""
    from .formula import as_latex, as_text
    from .plots import node_names, plot_edge_grid, plot_network

    kan = result.kan.core
    masks = [layer.mask.bool().numpy() for layer in kan.layers]
    names = node_names(result.kan, run.problem.inputs, run.problem.outputs)
    written = plot_network(out / "edges", result.activations, masks, names, result.chosen)
    written += plot_edge_grid(out / "edge_grid", result.activations, masks, names, result.chosen)
    summary = {"run_dir": str(run.run_dir), "problem": run.config.problem._target_, "inputs": list(run.problem.inputs),
               "outputs": list(run.problem.outputs), "options": asdict(opts),
               "stages": result.stages}
    if opts.symbolic:
        text, latex = as_text(result.formula_names, result.formulas), as_latex(result.formula_names, result.formulas)
        if result.formula_note:
            text, latex = f"# {result.formula_note}\n{text}", f"% {result.formula_note}\n{latex}"
        for name, content in (("formula.txt", text), ("formula.tex", latex)):
            with atomic_path(out / name) as tmp:
                tmp.write_text(content, encoding="utf-8")
            written.append(out / name)
        summary.update({"formula": text.strip().splitlines(), "latex": latex.strip().splitlines(),
                        "formula_rel_l2": result.formula_rel_l2,
                        "formula_rel_l2_unrounded": result.formula_rel_l2_unrounded,
                        "formula_vs_network_max_abs": result.formula_vs_network,
                        "edges": _edges_json(result, names)})
    write_json(out / "symbolic.json", summary)
    return written + [out / "symbolic.json"]


def _describe(stages: dict) -> str:
    parts = []
    for name, s in stages.items():
        widths = f" {s['widths']}" if "widths" in s else ""
        params = f" {s['parameters']} params" if "parameters" in s else ""
        parts.append(f"{name}{widths}{params} rel_l2={s['rel_l2']:.2e}")
    return "\n".join(parts)


def load_kan_run(run_dir: Path) -> Solution:
    """The KAN run in ``run_dir``, in float64 on the CPU; one-line error for any other run."""
    from ..solution import load

    run = load(run_dir, dtype="float64")
    if not run.net.is_kan:
        raise KanpdeError(f"{run_dir} is a {run.config.model.name} run (model.name={run.config.model.name}); "
                          "kanpde-interpret needs a KAN run")
    return run


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point of ``kanpde-interpret``."""
    args = _parser().parse_args(argv)
    try:
        opts = _options(args)
        from .workflow import interpret

        run = load_kan_run(args.run_dir)
        out = make_folder(args.out or args.run_dir, "--out")  # before the work, not after
        result = interpret(run, opts)
        written = write_outputs(run, result, opts, out)
    except KanpdeError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        sys.exit(1)
    print(_describe(result.stages))
    if opts.symbolic:
        if result.formula_note:
            print(result.formula_note)
        for name, expr in zip(result.formula_names, result.formulas):
            print(f"{name} = {expr}")
    print(f"wrote {', '.join(p.name for p in written)} to {out}")


if __name__ == "__main__":
    main()
