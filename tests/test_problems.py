"""Every shipped problem: its reference satisfies the PDE and the conditions, its test set matches
its domain, and a short training runs with both networks. New problems are picked up from conf/."""
from __future__ import annotations

import json

import meshio
import numpy as np
import pytest
import torch
from kanpde.pde.test_set import check_test_sets
from kanpde.training.collocation import collocation_points
from kanpde.errors import ConfigError
from kanpde.pde import TestSet, condition_data, derivatives
from kanpde.problems import Poisson2D

from helpers import PROBLEMS, make_config, make_problem, train

pytestmark = pytest.mark.usefixtures("float64")


def has_exact(problem) -> bool:
    try:
        problem.exact(torch.zeros(1, len(problem.inputs)))
    except NotImplementedError:
        return False
    return True


def test_the_benchmark_problems_are_shipped():
    assert {"poisson2d", "poisson2d_kan_paper"} <= set(PROBLEMS)


@pytest.mark.slow
@pytest.mark.parametrize("name", PROBLEMS)
def test_every_shipped_problem_class_is_exported(name):
    import kanpde.problems

    target = make_config(f"problem={name}").problem._target_
    assert target.startswith("kanpde.problems.") and target.rsplit(".", 1)[1] in kanpde.problems.__all__


@pytest.mark.slow
@pytest.mark.parametrize("name", PROBLEMS)
def test_reference_satisfies_pde_and_conditions(name):
    """Closed-form references to round-off, through autograd; numerical references (no exact())
    are checked against their PDE by finite differences in tests/test_references.py."""
    problem = make_problem(name)
    problem.check()
    if not has_exact(problem):
        pytest.skip(f"{name} has a numerical reference")
    for key, value in problem.true_unknowns.items():  # an inverse problem's reference has the true coefficients
        problem.unknowns[key].data.fill_(value)
    pts = collocation_points(problem, 500, 200, "sobol", seed=0)
    x = torch.as_tensor(pts["pde"])
    d = derivatives("autograd", problem.exact, x, problem.inputs, problem.outputs, order=problem.max_order)
    r = problem.residual(d.x, d.u, d)
    scale = 1 + problem.exact(x).abs().max()
    for value in (r.values() if isinstance(r, dict) else [r]):
        assert value.abs().max() < 1e-9 * scale
    for c in problem.soft_conditions:
        dc = derivatives("autograd", problem.exact, torch.as_tensor(pts[c.name]), problem.inputs, problem.outputs,
                         order=max(c.order, 1))
        data = {k: torch.as_tensor(v) for k, v in condition_data(pts, c.name).items()}
        tol = getattr(c, "tolerance", 1e-9)
        assert c.residual(dc.x, dc, data).abs().max() < tol * scale, c.name


@pytest.mark.slow
@pytest.mark.parametrize("name", PROBLEMS)
def test_test_sets_match_the_domain(name):
    """Every named test set lies in the domain; every shipped problem is scored somewhere, and each
    scored field has a nonzero reference (rel L2 divides by its norm)."""
    problem = make_problem(name)
    sets = problem.test_sets()
    check_test_sets(problem, sets)
    for test in sets.values():
        assert np.all(problem.domain.contains(test.points))
        if test.grid_shape is not None:
            assert int(np.prod(test.grid_shape)) == len(test.points)
    score = TestSet.score(sets, len(problem.inputs), len(problem.outputs))
    given = np.isfinite(score.values)
    assert given.any()
    for f in np.flatnonzero(given.any(axis=0)):
        assert np.linalg.norm(score.values[given[:, f], f]) > 0


@pytest.mark.slow
@pytest.mark.parametrize("model", ["kan_small", "mlp_small"])
@pytest.mark.parametrize("name", PROBLEMS)
def test_short_training_runs_and_writes_metrics(name, model, tmp_path):
    cfg = make_config(f"problem={name}", f"model={model}", "optim.adam.steps=6", "optim.lbfgs.steps=2",
                      "optim.ssbroyden.steps=2", "sampler.n_interior=64", "sampler.n_boundary=32", "output.figures=false",
                      "output.progress=false", "output.eval_every=0")
    metrics = train(cfg, tmp_path, name, model)
    assert metrics["status"] == "ok" and np.isfinite(metrics["rel_l2"])
    outputs = make_problem(name).outputs
    assert set(metrics["rel_l2_fields"]) == {f for f, count in metrics["scored_points"].items() if count} != set()
    arrays = meshio.read(tmp_path / "solution.vtu").point_data
    assert {f"{f}{suffix}" for f in outputs for suffix in ("", "_ref", "_error")} <= set(arrays)
    assert json.loads((tmp_path / "metrics.json").read_text())["final_loss"] == metrics["final_loss"]


def test_poisson2d_source_is_minus_laplacian_of_exact():
    problem = Poisson2D()
    x = torch.rand(50, 2) * 2 - 1
    assert torch.allclose(problem.source(x), 2 * torch.pi**2 * problem.exact(x)[:, 0])


def test_weights_name_existing_terms():
    assert Poisson2D({"pde": 0.5}).loss_weights() == {"pde": 0.5, "boundary": 1.0}
    with pytest.raises(ConfigError, match="problem.weights.bc: no loss term named 'bc'; terms: pde, boundary"):
        Poisson2D({"bc": 1.0}).loss_weights()
