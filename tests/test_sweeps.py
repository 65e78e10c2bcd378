"""Sweeps on Hydra's launcher and sweeper plugins (the `sweeps` extra): joblib and submitit_local
jobs, an Optuna search; each job leaves a normal run directory that kanpde-compare reads."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from kanpde.compare.runs import find_runs
from kanpde.io import read_json

from conftest import TINY, run_cli

BUDGET = ("optim.adam.steps=20", "optim.lbfgs.steps=5", *TINY)
CONTRACT = {"metrics.json", "history.h5", "checkpoint.pt", "solution.vtu", ".hydra"}


def finished_runs(sweep: Path, n: int) -> list[dict]:
    runs = sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert [p.name for p in runs] == [str(i) for i in range(n)]
    for run in runs:
        assert CONTRACT <= {p.name for p in run.iterdir()}, run
    metrics = [read_json(run / "metrics.json") for run in runs]
    assert all(m["status"] == "ok" for m in metrics)
    runs_read, skipped = find_runs([sweep])  # what kanpde-compare reads
    assert len(runs_read) == n and not skipped
    return metrics


@pytest.mark.slow
@pytest.mark.parametrize("launcher, plugin", [("joblib", "hydra_plugins.hydra_joblib_launcher"),
                                              ("submitit_local", "hydra_plugins.hydra_submitit_launcher")])
def test_a_launcher_sweep_leaves_one_run_directory_per_job(launcher, plugin, tmp_path):
    pytest.importorskip(plugin)
    result = run_cli("-m", f"hydra/launcher={launcher}", *BUDGET, "seed=0,1", f"hydra.sweep.dir={tmp_path / 'sweep'}",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = finished_runs(tmp_path / "sweep", 2)
    assert sorted(m["seed"] for m in metrics) == [0, 1]


@pytest.mark.slow
def test_an_optuna_search_minimises_the_objective_over_its_trials(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    result = run_cli("-m", "hydra/sweeper=kan_search", "hydra.sweeper.n_trials=3", "output.objective=final_loss",
                     *BUDGET, f"hydra.sweep.dir={tmp_path / 'search'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = finished_runs(tmp_path / "search", 3)
    best = yaml.safe_load((tmp_path / "search" / "optimization_results.yaml").read_text())
    assert math.isclose(best["best_value"], min(m["final_loss"] for m in metrics), rel_tol=1e-12)
    assert set(best["best_params"]) == {"model.grid_size", "model.order", "optim.adam.lr"}
