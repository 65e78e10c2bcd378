"""Bitwise before/after check of a refactoring: a fixed set of short CLI runs, fingerprinted.

    python benchmarks/bitwise_runs.py --out before.json            # on the old code
    python benchmarks/bitwise_runs.py --out after.json             # on the new code
    python benchmarks/bitwise_runs.py --compare before.json after.json

Each case is one ``kanpde`` command (a 2-process ``torchrun`` for the data-parallel case) with a
short budget, one thread per process, in a fresh run directory. Its fingerprint is every number of
metrics.json except the clock (train_seconds, elapsed times) and the versions, the SHA-256 of every
history.h5 dataset except the elapsed times, and the SHA-256 of the final trained parameters in
checkpoint.pt. Two fingerprints agree only when the runs took bitwise the same steps. The cases
cover KAN and MLP, B-spline and Chebyshev bases, hard constraints, grid update and extension,
Adam, L-BFGS, SSBroyden and SSBFGS, fixed, RBA, grad-norm and causal weightings, RAD resampling,
an inverse problem, a system and a torchrun run.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import torch

QUIET = ["output.figures=false", "output.progress=false"]
SMALL = ["sampler.n_interior=256", "sampler.n_boundary=64"]
CASES: dict[str, list[str]] = {
    "poisson2d_kan": ["problem=poisson2d", "model=kan", "optim.adam.steps=200", "optim.lbfgs.steps=100"],
    "poisson2d_mlp": ["problem=poisson2d", "model=mlp", "optim.adam.steps=200", "optim.lbfgs.steps=100"],
    "poisson2d_kan_grid": ["problem=poisson2d", "model=kan", "optim.adam.steps=150", "optim.lbfgs.steps=50",
                           "optim.grid.update_every=40", "optim.grid.extend_at=[100]", "optim.grid.extend_to=[8]"],
    "poisson2d_kan_chebyshev_rad": ["problem=poisson2d", "model=kan", "model.basis=chebyshev", "optim.adam.steps=150",
                                    "optim.lbfgs.steps=50", "sampler.adaptive=true", "sampler.resample_every=50"],
    "burgers1d_kan_hard_ssbroyden": ["problem=burgers1d", "model=kan", "problem.constraints=hard", *SMALL,
                                     "optim.adam.steps=100", "optim.ssbroyden.steps=60", "optim.time_limit=0"],
    "burgers1d_mlp_grad_norm": ["problem=burgers1d", "model=mlp", *SMALL, "optim.phases=[adam,lbfgs]",
                                "optim.adam.steps=150", "optim.lbfgs.steps=60", "optim.weighting.name=grad_norm",
                                "optim.weighting.grad_norm.every=20", "optim.time_limit=0"],
    "heat1d_kan_rba_ssbfgs": ["problem=heat1d", "model=kan", *SMALL, "optim.phases=[adam,ssbfgs]",
                              "optim.adam.steps=100", "optim.ssbfgs.steps=60", "optim.weighting.name=rba"],
    "heat1d_mlp_causal": ["problem=heat1d", "model=mlp", *SMALL, "optim.adam.steps=150", "optim.lbfgs.steps=60",
                          "optim.weighting.name=causal", "optim.weighting.causal.chunks=8"],
    "heat1d_inverse_kan": ["problem=heat1d_inverse", "model=kan", *SMALL, "optim.adam.steps=150",
                           "optim.lbfgs.steps=60"],
    "kovasznay_mlp_ssbroyden": ["problem=kovasznay", "model=mlp", *SMALL, "optim.phases=[adam,ssbroyden]",
                                "optim.adam.steps=100", "optim.ssbroyden.steps=40"],
    "poisson2d_kan_torchrun": ["problem=poisson2d", "model=kan", "optim.adam.steps=60", "optim.lbfgs.steps=30",
                               "sampler.n_interior=128", "sampler.n_boundary=64"],
}
CLOCK = ("train_seconds", "kanpde_version", "torch_version")


def run_case(name: str, args: list[str], root: Path) -> dict:
    """Run one case in ``root/name`` and fingerprint it."""
    run_dir = root / name
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [str(Path(sys.executable).with_name("kanpde")), *args, *QUIET, f"hydra.run.dir={run_dir}"]
    if name.endswith("_torchrun"):
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "--no-python",
                   *command]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=root)
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip().splitlines()[-1:]}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    kept = {k: v for k, v in metrics.items() if k not in CLOCK}
    history = {}
    with h5py.File(run_dir / "history.h5") as f:
        f.visititems(lambda key, item: history.__setitem__(key, _digest(np.asarray(item)))
                     if isinstance(item, h5py.Dataset) and "elapsed" not in key else None)
    state = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=False)["loop"]["net"]
    params = hashlib.sha256(b"".join(v.numpy().tobytes() for _, v in sorted(state.items()))).hexdigest()
    return {"metrics": kept, "history": history, "parameters": params}


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def compare(before: dict, after: dict) -> int:
    """Print one line per case; the number of cases that differ."""
    differ = 0
    for name in before:
        a, b = before[name], after.get(name)
        if b is None:
            print(f"{name}: missing after")
            differ += 1
            continue
        diffs = [f"metrics.{k}: {a['metrics'].get(k)!r} -> {b['metrics'].get(k)!r}"
                 for k in sorted(set(a.get("metrics", {})) | set(b.get("metrics", {})))
                 if a["metrics"].get(k) != b["metrics"].get(k)] if "metrics" in a and "metrics" in b else []
        if "error" in a or "error" in b:
            diffs.append(f"error: {a.get('error')} -> {b.get('error')}")
        else:
            diffs += [f"history/{k}" for k in sorted(set(a["history"]) | set(b["history"]))
                      if a["history"].get(k) != b["history"].get(k)]
            if a["parameters"] != b["parameters"]:
                diffs.append("final parameters")
        print(f"{name}: {'identical' if not diffs else 'DIFFERENT: ' + '; '.join(diffs[:6])}")
        differ += bool(diffs)
    print(f"{len(before) - differ} of {len(before)} cases bitwise identical")
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the fingerprints here")
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        before, after = (json.loads(p.read_text()) for p in args.compare)
        sys.exit(1 if compare(before, after) else 0)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.cases:
            results[name] = run_case(name, CASES[name], Path(tmp))
            print(name, "error: " + " ".join(results[name]["error"]) if "error" in results[name]
                  else f"rel_l2={results[name]['metrics']['rel_l2']}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
