"""kanpde.load on runs the command line wrote: every registered problem with its default model, a
hard-constrained KAN and a multi-field MLP reload to their own solution.vtu values (float64)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import meshio
import numpy as np
import pytest
from conftest import TINY, run_cli
from helpers import PROBLEMS

import kanpde

BUDGET = (*TINY, "optim.adam.steps=3", "optim.lbfgs.steps=2", "optim.ssbroyden.steps=2")
EXTRA = {"heat1d_hard_kan": ("problem=heat1d", "problem.constraints=hard", "model=kan_tiny"),
         "kovasznay_mlp": ("problem=kovasznay", "model=mlp")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("load")
    result = run_cli("-m", f"problem={','.join(PROBLEMS)}", *BUDGET, "hydra.sweep.dir=all", cwd=root, timeout=900)
    assert result.returncode == 0, result.stderr
    dirs = {json.loads(p.read_text())["problem"]: p.parent for p in (root / "all").glob("*/metrics.json")}
    for name, args in EXTRA.items():
        result = run_cli(*args, *BUDGET, f"hydra.run.dir={name}", cwd=root)
        assert result.returncode == 0, result.stderr
        dirs[name] = root / name
    return dirs


@pytest.mark.slow
@pytest.mark.parametrize("name", [*PROBLEMS, *EXTRA])
def test_load_reproduces_the_runs_own_solution(runs, name):
    sol = kanpde.load(runs[name])
    metrics = json.loads((runs[name] / "metrics.json").read_text())
    assert sol.metrics == metrics and sol.metrics["status"] == "ok"
    mesh = meshio.read(runs[name] / "solution.vtu")
    values = sol(mesh.points[:, :len(sol.inputs)])
    for i, field in enumerate(sol.outputs):
        assert np.abs(values[:, i] - mesh.point_data[field]).max() <= 1e-12, field
    score = sol.test_set  # the scored test sets together (solution.vtu holds the first set)
    assert score.rel_l2(sol(score.points)) == pytest.approx(metrics["rel_l2"], rel=1e-10)
    assert sol.net.is_kan == (metrics["network"] == "kan")
    if sol.problem.unknowns:  # an inverse problem: the recovered coefficients come back too
        assert {k: float(v.detach()) for k, v in sol.problem.unknowns.items()} == metrics["unknowns"]


def test_the_variants_are_covered(runs):
    loaded = {name: kanpde.load(runs[name]) for name in ("heat1d_hard_kan", "kovasznay_mlp", "allen_cahn")}
    assert loaded["heat1d_hard_kan"].net.constraint is not None and loaded["heat1d_hard_kan"].net.is_kan
    assert loaded["kovasznay_mlp"].outputs == ("u", "v", "p") and not loaded["kovasznay_mlp"].net.is_kan
    assert loaded["allen_cahn"].net.periodic  # the periodic input embedding


@pytest.mark.slow
def test_interpret_reports_a_hard_constrained_runs_own_error(runs):
    """The trained stage is the run itself; the formula is of the core N in u = g + phi N, and its
    error is taken with the constraint applied, so it matches the snapped network's."""
    run = runs["heat1d_hard_kan"]
    exe = Path(sys.executable).with_name("kanpde-interpret")
    result = subprocess.run([str(exe), str(run), "--steps", "20", "--out", str(run / "interpret")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rel_l2 = json.loads((run / "metrics.json").read_text())["rel_l2"]
    summary = json.loads((run / "interpret" / "symbolic.json").read_text())
    assert summary["stages"]["trained"]["rel_l2"] == pytest.approx(rel_l2, rel=1e-10)
    assert f"rel_l2={rel_l2:.2e}" in result.stdout.splitlines()[0]
    assert summary["formula_vs_network_max_abs"] < 1e-8
    assert summary["formula_rel_l2_unrounded"] == pytest.approx(summary["stages"]["symbolic"]["rel_l2"], rel=1e-6)
    text = (run / "interpret" / "formula.txt").read_text()
    assert text.startswith("# u = g + phi * N_u") and "\nN_u = " in text
