"""The comparison table: per (problem, model), median and min-max over the finished runs of the
error, size and training time, and the time each needed to reach given error levels (from
history.h5's eval rows); runs that did not finish are listed, never dropped."""
from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path
from typing import Sequence

from ..io import atomic_path
from .runs import Run, group

LEVELS = (1e-2, 1e-3, 1e-4)
STATS = ("rel_l2", "max_abs_error", "train_seconds", "n_params", "final_loss")


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
        for key in STATS:
            row[key] = _stats([float(r.metrics[key]) for r in ok if r.metrics.get(key) is not None])
        for level in levels:
            times = [t for t in (r.time_to_reach(level) for r in ok) if t is not None]
            row[f"t_{level:g}"] = (_stats(times), len(times))
        row["unscored"] = sum(1 for r in ok if not r.scored)
        rows.append(row)
    return rows


def write_tables(rows: list[dict], out: Path, levels: Sequence[float] = LEVELS) -> list[Path]:
    """table.csv (one column per statistic) and table.md (median (min-max))."""
    stats = STATS
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

    lines = ["| problem | model | runs ok | parameters | rel L2 | max abs error | final loss | train s | "
             + " | ".join(f"s to {lv:g}" for lv in levels) + " |",
             "|---" * (8 + len(levels)) + "|"]
    for r in rows:
        times = []
        for lv in levels:
            values, reached = r[f"t_{lv:g}"]
            times.append(f"{spread(values, '.1f')} [{reached}/{r['ok']}]")
        params = "-" if math.isnan(r["n_params"][0]) else f"{r['n_params'][0]:.0f}"
        lines.append(f"| {r['problem']} | {r['model']} | {r['ok']}/{r['runs']} | {params} | "
                     f"{spread(r['rel_l2'], '.2e')} | {spread(r['max_abs_error'], '.2e')} | "
                     f"{spread(r['final_loss'], '.2e')} | "
                     f"{spread(r['train_seconds'], '.1f')} | " + " | ".join(times) + " |")
    failures = [f"- {r['problem']} / {r['model']}: {r['not_ok']}" for r in rows if r["not_ok"]]
    notes = ["", "Median (min-max) over the finished runs of each row; `s to L` is the training time until the",
             "test error first fell to L, over the runs that got there ([reached/finished])."]
    unscored = [f"- {r['problem']} / {r['model']}: {r['unscored']} of {r['ok']} finished runs"
                for r in rows if r["unscored"]]
    if unscored:
        notes += ["", "Runs without reference data (no error to score; compare their final loss):", *unscored]
    if failures:
        notes += ["", "Runs that did not finish:", *failures]
    with atomic_path(out / "table.md") as tmp:
        tmp.write_text("\n".join(lines + notes) + "\n")
    return [out / "table.csv", out / "table.md"]
