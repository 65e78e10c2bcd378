"""``kanpde-compare DIR... --out OUTDIR``: tables and figures from many run directories.

Every directory below the given ones that holds a metrics.json is a run (a Hydra multirun leaves
one per job). Runs are grouped by (problem, model); figures are per problem, so runs of different
problems are never mixed in one plot.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ..errors import KanpdeError
from ..io import make_folder
from .runs import find_runs
from .tables import LEVELS, summarize, write_tables


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point of ``kanpde-compare``."""
    parser = argparse.ArgumentParser(prog="kanpde-compare", description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="run directories or folders holding them")
    parser.add_argument("--out", type=Path, required=True, help="folder for the tables and figures")
    parser.add_argument("--levels", type=float, nargs="+", default=list(LEVELS), help="error levels to time")
    args = parser.parse_args(argv)
    try:
        make_folder(args.out, "--out")
        runs, warnings = find_runs(args.dirs)
        for w in warnings:
            print(f"kanpde-compare: warning: {w}", file=sys.stderr)
        written = write_tables(summarize(runs, args.levels), args.out, args.levels)
        from .figures import write_figures  # matplotlib only when needed

        written += write_figures(runs, args.out)
    except KanpdeError as exc:
        print(f"kanpde-compare: error: {exc}", file=sys.stderr)
        sys.exit(1)
    problems = sorted({r.key[0] for r in runs})
    print(f"{len(runs)} runs of {len(problems)} problem(s) ({', '.join(problems)}): "
          f"wrote {len(written)} files to {args.out}")


if __name__ == "__main__":
    main()
