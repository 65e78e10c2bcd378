"""Every benchmark problem with the default KAN and MLP: results/benchmarks.{md,csv}.

    python benchmarks/problem_table.py [--problems burgers1d heat1d ...] [--models kan mlp]
                                       [--seed 0] [--out results] [--runs DIR] [extra kanpde overrides...]

Each run is ``kanpde problem=<p> model=<m> seed=<s>`` exactly as a user types it, one after the
other (KAN and MLP alternating), in a temporary directory, or with ``--runs DIR`` in
``DIR/<problem>-<model>-<seed>``, kept for ``kanpde-compare DIR``. The table puts the measured errors,
training seconds and the method the defaults chose (phases and their steps, loss weighting,
constraints) beside the best published number we know for the same variant of the problem.
With ``--problems`` only those rows are rerun; the other rows are kept from the existing CSV.
Both files are rewritten after every run (merged with what is on disk, under a lock), so an
interrupted table keeps the rows it finished and two tables may share one output folder; each row
records the threads it ran with (``OMP_NUM_THREADS``).
"""
from __future__ import annotations

import argparse
import csv
import fcntl
import json
import platform
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

import torch

KEYS = ("rel_l2", "max_abs_error", "n_params", "train_seconds", "threads", "method", "status", "extra")

# Published relative L2 errors for exactly these problem variants: (number, who, how).
PUBLISHED = {
    "burgers1d": [("6.7e-4", "PINN", "Raissi et al. 2019, MLP 9x20, L-BFGS"),
                  ("2.43e-2", "PIKAN", "jaxKAN, adaptive, 100k Adam steps"),
                  ("~1e-8", "PIKAN", "Kiyani et al. 2025, SSBroyden, 50k iterations")],
    "helmholtz2d": [("1.02e-3", "PIKAN", "jaxKAN")],
    "allen_cahn_dirichlet": [("1.41e-2", "PIKAN", "jaxKAN")],
    "heat1d": [("2.10e-4", "PIKAN", "jaxKAN")],
    "allen_cahn": [("2.24e-5", "PINN", "PirateNet, 300k steps, GPU"), ("2.51e-5", "KKAN", "300k steps, GPU")],
}


def all_problems() -> list[str]:
    folder = resources.files("kanpde.conf") / "problem"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def run(problem: str, model: str, seed: int, workdir: Path, extra: list[str]) -> dict:
    run_dir = workdir / f"{problem}-{model}-{seed}"
    exe = Path(sys.executable).with_name("kanpde")
    cmd = [str(exe), f"problem={problem}", f"model={model}", f"seed={seed}", "output.progress=false",
           "output.figures=false", f"hydra.run.dir={run_dir}", *extra]
    result = subprocess.run(cmd, capture_output=True, text=True)
    path = run_dir / "metrics.json"
    if not path.exists():
        return {"status": f"failed: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}"}
    metrics = json.loads(path.read_text())
    fields = metrics.get("rel_l2_fields", {})
    notes = [f"{k} {v:.2e}" for k, v in fields.items()] if len(fields) > 1 else []
    if len(metrics.get("test_sets", {})) > 1:  # scored on named sets (published points): max and RMS errors there
        maxima, rms = metrics.get("max_abs_error_fields", {}), metrics.get("rms_error_fields", {})
        notes = [f"{k}: max {maxima[k]:.2e}, RMS {rms[k]:.2e}" for k in maxima]
        notes += [f"{name} {k}: max {v:.2e}" for name, entry in metrics["test_sets"].items() if not entry["scored"]
                  for k, v in entry["max_abs_error_fields"].items() if entry["points"] < 1000]
    for name, value in metrics.get("unknowns", {}).items():
        err = metrics.get("unknowns_rel_error", {}).get(name)
        notes.append(f"{name} = {value:.4f}" + (f" (rel. error {err:.1e})" if err is not None else ""))
    metrics["extra"] = "; ".join(notes)
    metrics["method"] = method(run_dir / ".hydra" / "config.yaml", metrics)
    metrics["threads"] = torch.get_num_threads()
    return metrics


def method(config_path: Path, metrics: dict) -> str:
    """What the run's config chose: "adam 1000 + ssbroyden 6390, fixed, chebyshev basis, soft
    constraints, RAD" (steps as taken; the basis or activation where not the default)."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(config_path)
    phases = " + ".join(f"{name} {metrics.get(f'{name}_steps', 0)}" for name in cfg.optim.phases)
    parts = [phases, cfg.optim.weighting.name]
    model = cfg.model
    if model.get("basis", "bspline") != "bspline":
        parts.append(f"{model.basis} basis")
    if model.get("activation", "tanh") != "tanh":
        parts.append(f"{model.activation} activation")
    constraints = cfg.problem.get("constraints")
    if constraints:
        parts.append(f"{constraints} constraints")
    if cfg.sampler.adaptive:
        parts.append("RAD")
    return ", ".join(parts)


def fmt(value, spec: str) -> str:
    return "-" if value in (None, "") else f"{float(value):{spec}}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=None)
    parser.add_argument("--models", nargs="+", default=["kan", "mlp"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--runs", type=Path, default=None, help="keep the run directories here")
    args, extra = parser.parse_known_args()
    problems = args.problems or all_problems()
    if args.runs is not None:
        used = [args.runs / f"{p}-{m}-{args.seed}" for p in problems for m in args.models
                if (args.runs / f"{p}-{m}-{args.seed}").exists()]
        if used:
            sys.exit(f"--runs: {used[0]} exists already; move it away or choose another folder")
    rows: dict[tuple[str, str], dict] = {}
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp) if args.runs is None else args.runs
        for problem in problems:
            for model in args.models:
                m = run(problem, model, args.seed, workdir, extra)
                rows[(problem, model)] = {"problem": problem, "model": model, "seed": args.seed,
                                          **{k: m.get(k, "") for k in KEYS}}
                print(f"{problem} / {model}: rel_l2={fmt(m.get('rel_l2'), '.3e')} "
                      f"train_seconds={fmt(m.get('train_seconds'), '.1f')} {m.get('status')}", flush=True)
                write(rows, args)


def write(rows: dict[tuple[str, str], dict], args: argparse.Namespace) -> None:
    """benchmarks.csv and benchmarks.md: the rows on disk, updated with this process's ``rows``."""
    csv_path = args.out / "benchmarks.csv"
    with open(args.out / ".benchmarks.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = {}
        if csv_path.exists():
            with open(csv_path, newline="") as f:
                merged = {(r["problem"], r["model"]): r for r in csv.DictReader(f)}
        merged.update(rows)
        ordered = sorted(merged.values(), key=lambda r: (r["problem"], r["model"]))
        with open(csv_path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["problem", "model", "seed", *KEYS], extrasaction="ignore")
            writer.writeheader()
            writer.writerows(ordered)
        write_markdown(ordered, args)


def write_markdown(ordered: list[dict], args: argparse.Namespace) -> None:
    lines = [
        "# Benchmark problems: default KAN and MLP",
        "",
        "Generated by `python benchmarks/problem_table.py` (rows can be rerun with `--problems ...`); "
        f"{platform.machine()}, torch {torch.__version__}, float64, seed "
        f"{args.seed}. Each run is `kanpde problem=<problem> model=<kan|mlp>` with that problem's defaults; "
        "errors on the problem's scored test sets, training seconds exclude evaluation; the method column gives the "
        "phases with the steps they took, the loss weighting, a basis or activation other than the default, the constraints and RAD sampling.",
        "",
        "| problem | model | parameters | rel L2 | max abs error | train s | threads | method | notes | published |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in ordered:
        published = "; ".join(f"{n} {who} ({how})" for n, who, how in PUBLISHED.get(r["problem"], []))
        status = "" if r["status"] in ("ok", "") else f" **{r['status']}**"
        lines.append(f"| {r['problem']} | {r['model']} | {r['n_params']} | {fmt(r['rel_l2'], '.2e')} | "
                     f"{fmt(r['max_abs_error'], '.2e')} | {fmt(r['train_seconds'], '.0f')} | "
                     f"{r.get('threads') or '-'} | {r.get('method') or ''} | {r['extra']}{status} | {published} |")
    (args.out / "benchmarks.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
