"""``kanpde-compare DIR... --out OUTDIR``: tables and figures from many run directories.

Every directory below the given ones that holds a metrics.json is a run (a Hydra multirun leaves
one per job). Runs are grouped by (problem, model); the table gives the median and min-max over
the group's finished runs, the time each needed to reach given error levels (from history.h5's
eval rows), and lists the runs that did not finish, never dropping them. Figures are per problem,
so runs of different problems are never mixed in one plot.
"""
from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import KanpdeError
from .io import atomic_path, read_history, read_json

LEVELS = (1e-2, 1e-3, 1e-4)
REQUIRED = ("problem", "model", "status")


@dataclass
class Run:
    """One run directory: its metrics and (when readable) its history."""

    path: Path
    metrics: dict
    history: dict[str, np.ndarray] | None

    @property
    def ok(self) -> bool:
        return self.metrics["status"] == "ok"

    @property
    def key(self) -> tuple[str, str]:
        return self.metrics["problem"], self.metrics["model"]

    def time_to_reach(self, level: float) -> float | None:
        """Training seconds until the test error first fell to ``level`` (None: never)."""
        if not self.history or "eval/elapsed_s" not in self.history:
            return None
        reached = np.nonzero(self.history["eval/rel_l2"] <= level)[0]
        return float(self.history["eval/elapsed_s"][reached[0]]) if len(reached) else None


def find_runs(dirs: Sequence[str | Path]) -> tuple[list[Run], list[str]]:
    """All runs under ``dirs`` and one warning per run directory that could not be read."""
    runs, warnings = [], []
    for d in map(Path, dirs):
        if not d.is_dir():
            raise KanpdeError(f"{d}: no such directory")
        for metrics_path in sorted(d.rglob("metrics.json")):
            try:
                metrics = read_json(metrics_path)
                missing = [k for k in REQUIRED if k not in metrics]
                if missing:
                    raise KanpdeError(f"{metrics_path} lacks {', '.join(missing)}")
            except KanpdeError as exc:
                warnings.append(f"skipped {metrics_path.parent}: {exc}")
                continue
            history = None
            if (metrics_path.parent / "history.h5").exists():
                try:
                    history = read_history(metrics_path.parent / "history.h5")
                except KanpdeError as exc:
                    warnings.append(f"no error history for {metrics_path.parent}: {exc}")
            runs.append(Run(metrics_path.parent, metrics, history))
    if not runs:
        raise KanpdeError(f"no runs (no readable metrics.json) under {', '.join(map(str, dirs))}")
    return runs, warnings


def group(runs: Sequence[Run]) -> dict[tuple[str, str], list[Run]]:
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        groups[run.key].append(run)
    return dict(sorted(groups.items()))


def _stats(values: list[float]) -> tuple[float, float, float]:
    return (statistics.median(values), min(values), max(values)) if values else (math.nan,) * 3


def summarize(runs: Sequence[Run], levels: Sequence[float] = LEVELS) -> list[dict]:
    """One row per (problem, model): statistics over its finished runs, failures listed."""
    rows = []
    for (problem, model), members in group(runs).items():
        ok = [r for r in members if r.ok]
        row = {"problem": problem, "model": model, "runs": len(members), "ok": len(ok),
               "not_ok": "; ".join(f"{r.path.name} (seed {r.metrics.get('seed', '?')}): {r.metrics['status']}"
                                   for r in members if not r.ok)}
        for key in ("rel_l2", "max_abs_error", "train_seconds", "n_params"):
            row[key] = _stats([float(r.metrics[key]) for r in ok if r.metrics.get(key) is not None])
        for level in levels:
            times = [t for t in (r.time_to_reach(level) for r in ok) if t is not None]
            row[f"t_{level:g}"] = (_stats(times), len(times))
        rows.append(row)
    return rows


def write_tables(rows: list[dict], out: Path, levels: Sequence[float] = LEVELS) -> list[Path]:
    """table.csv (one column per statistic) and table.md (median (min-max))."""
    stats = ("rel_l2", "max_abs_error", "train_seconds", "n_params")
    header = ["problem", "model", "runs", "ok"]
    header += [f"{k}_{s}" for k in stats for s in ("median", "min", "max")]
    header += [f"t_{lv:g}_{s}" for lv in levels for s in ("median", "min", "max", "reached")]
    header.append("not_ok")
    with atomic_path(out / "table.csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for r in rows:
            times = [v for lv in levels for v in (*r[f"t_{lv:g}"][0], r[f"t_{lv:g}"][1])]
            writer.writerow([r["problem"], r["model"], r["runs"], r["ok"], *(v for k in stats for v in r[k]),
                             *times, r["not_ok"]])

    def spread(values: tuple[float, float, float], fmt: str) -> str:
        med, lo, hi = values
        return "-" if math.isnan(med) else f"{med:{fmt}} ({lo:{fmt}}-{hi:{fmt}})"

    lines = ["| problem | model | runs ok | parameters | rel L2 | max abs error | train s | "
             + " | ".join(f"s to {lv:g}" for lv in levels) + " |",
             "|---" * (7 + len(levels)) + "|"]
    for r in rows:
        times = []
        for lv in levels:
            values, reached = r[f"t_{lv:g}"]
            times.append(f"{spread(values, '.1f')} [{reached}/{r['ok']}]")
        params = "-" if math.isnan(r["n_params"][0]) else f"{r['n_params'][0]:.0f}"
        lines.append(f"| {r['problem']} | {r['model']} | {r['ok']}/{r['runs']} | {params} | "
                     f"{spread(r['rel_l2'], '.2e')} | {spread(r['max_abs_error'], '.2e')} | "
                     f"{spread(r['train_seconds'], '.1f')} | " + " | ".join(times) + " |")
    failures = [f"- {r['problem']} / {r['model']}: {r['not_ok']}" for r in rows if r["not_ok"]]
    notes = ["", "Median (min-max) over the finished runs of each row; `s to L` is the training time until the",
             "test error first fell to L, over the runs that got there ([reached/finished])."]
    if failures:
        notes += ["", "Runs that did not finish:", *failures]
    with atomic_path(out / "table.md") as tmp:
        tmp.write_text("\n".join(lines + notes) + "\n")
    return [out / "table.csv", out / "table.md"]


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point of ``kanpde-compare``."""
    parser = argparse.ArgumentParser(prog="kanpde-compare", description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="run directories or folders holding them")
    parser.add_argument("--out", type=Path, required=True, help="folder for the tables and figures")
    parser.add_argument("--levels", type=float, nargs="+", default=list(LEVELS), help="error levels to time")
    args = parser.parse_args(argv)
    try:
        runs, warnings = find_runs(args.dirs)
        for w in warnings:
            print(f"kanpde-compare: warning: {w}", file=sys.stderr)
        args.out.mkdir(parents=True, exist_ok=True)
        written = write_tables(summarize(runs, args.levels), args.out, args.levels)
        from .compare_figures import write_figures  # matplotlib only when needed

        written += write_figures(runs, args.out)
    except KanpdeError as exc:
        print(f"kanpde-compare: error: {exc}", file=sys.stderr)
        sys.exit(1)
    problems = sorted({r.key[0] for r in runs})
    print(f"{len(runs)} runs of {len(problems)} problem(s) ({', '.join(problems)}): "
          f"wrote {len(written)} files to {args.out}")


if __name__ == "__main__":
    main()
