"""The Python front door: kanpde.solve, Solution, kanpde.load."""
from __future__ import annotations

import math

import meshio
import numpy as np
import pytest
import torch

import kanpde
from kanpde.schema import schema
from kanpde.nets import KANOptions
from kanpde.errors import ConfigError, KanpdeError
from kanpde.io import read_json
from kanpde.problems import Heat1D

QUICK = ["optim.adam.steps=30", "optim.lbfgs.steps=10", "sampler.n_interior=128", "sampler.n_boundary=64",
         "output.progress=false", "output.figures=false"]


@pytest.fixture(scope="module")
def poisson():
    return kanpde.solve("poisson2d", overrides=QUICK)


def test_solve_returns_a_callable_solution_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sol = kanpde.solve("poisson2d", "mlp", overrides=QUICK)
    assert list(tmp_path.iterdir()) == []
    x = np.random.default_rng(0).uniform(-1, 1, (7, 2))
    u = sol(x)
    assert isinstance(u, np.ndarray) and u.shape == (7, 1) and u.dtype == np.float64
    t = sol(torch.as_tensor(x))
    assert isinstance(t, torch.Tensor) and t.shape == (7, 1) and np.array_equal(t.numpy(), u)
    assert sol.metrics["status"] == "ok" and sol.metrics["model"] == "mlp" and sol.metrics["adam_steps"] == 30
    assert len(sol.history["loss"]) == sol.metrics["adam_steps"] + sol.metrics["lbfgs_steps"]
    assert sol.net.is_kan is False and sol.problem.inputs == ("x", "y")
    assert sol.test_set.rel_l2(sol(sol.test_set.points)) == pytest.approx(sol.metrics["rel_l2"], rel=1e-12)
    with pytest.raises(KanpdeError, match=r"points must have shape \(N, 2\) for the inputs \(x, y\), got \(7,\)"):
        sol(x[:, 0])


@pytest.mark.slow
def test_derivatives_match_finite_differences(poisson):
    x = np.random.default_rng(1).uniform(-0.9, 0.9, (20, 2))
    d = poisson.derivatives(x, "u", "u_x", "u_y", "u_xx", "u_xy", "u_yy")
    assert set(d) == {"u", "u_x", "u_y", "u_xx", "u_xy", "u_yy"} and d["u_xx"].shape == (20,)
    assert np.allclose(d["u"], poisson(x)[:, 0], atol=1e-14)

    def u(dx: float, dy: float) -> np.ndarray:
        return poisson(x + [dx, dy])[:, 0]

    h = 1e-4
    assert np.allclose(d["u_x"], (u(h, 0) - u(-h, 0)) / (2 * h), rtol=1e-6, atol=1e-7)
    assert np.allclose(d["u_y"], (u(0, h) - u(0, -h)) / (2 * h), rtol=1e-6, atol=1e-7)
    h = 1e-3
    assert np.allclose(d["u_xx"], (u(h, 0) - 2 * u(0, 0) + u(-h, 0)) / h**2, rtol=1e-4, atol=1e-4)
    assert np.allclose(d["u_xy"], (u(h, h) - u(h, -h) - u(-h, h) + u(-h, -h)) / (4 * h**2), rtol=1e-4, atol=1e-4)
    third = poisson.derivatives(torch.as_tensor(x), "u_xxy")["u_xxy"]  # above second order: nested autograd
    assert isinstance(third, torch.Tensor)
    assert np.allclose(third.numpy(), (poisson.derivatives(x + [0, h], "u_xx")["u_xx"]
                                       - poisson.derivatives(x - [0, h], "u_xx")["u_xx"]) / (2 * h), rtol=1e-4, atol=1e-3)
    with pytest.raises(KanpdeError, match="cannot read the derivative 'u_z'"):
        poisson.derivatives(x, "u_z")


@pytest.mark.parametrize("kwargs,message", [
    ({"overrides": ["model.widht=3"]}, "unknown config key 'model.widht'"),
    ({"overrides": ["optim.adam.steps=-5"]}, "optim.adam.steps: must be >= 0, got -5"),
    ({"overrides": ["problem=heat1d"]}, "overrides: 'problem=heat1d': name the problem and the model as solve's arguments"),
    ({"seed": "many"}, "seed: Value 'many' of type 'str' could not be converted to Integer"),
    ({"optim": {"adam": {"stepz": 3}}}, "unknown config key 'optim.adam.stepz'"),
    ({"overrides": ["model.basis=fourier"]}, "model.basis: unknown basis 'fourier'; choices: bspline, chebyshev, rbf"),
    ({"model": {"basis": "rbf"}}, "model must be the name of a model config"),
])
def test_bad_input_is_the_command_lines_one_line_error(kwargs, message):
    with pytest.raises(KanpdeError) as info:
        kanpde.solve("poisson2d", **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_unknown_problem_and_model_names():
    with pytest.raises(KanpdeError, match="unknown problem 'poisson9d'; choices: advection1d"):
        kanpde.solve("poisson9d")
    with pytest.raises(KanpdeError, match="unknown model 'transformer'; choices: kan, kan_"):
        kanpde.solve("poisson2d", "transformer")


@pytest.mark.slow
def test_options_and_overrides_agree(tmp_path):
    by_options = kanpde.solve("heat1d", "kan_small", overrides=QUICK[2:], seed=3, optim={"adam": {"steps": 20},
                                                                                        "lbfgs": {"steps": 5}})
    by_overrides = kanpde.solve("heat1d", "kan_small", overrides=[*QUICK[2:], "seed=3", "optim.adam.steps=20",
                                                                 "optim.lbfgs.steps=5"])
    assert by_options.metrics["seed"] == 3 and by_options.metrics["adam_steps"] == 20
    assert np.array_equal(by_options.history["loss"], by_overrides.history["loss"])


@pytest.mark.slow
def test_run_dir_gets_the_output_contract_and_load_reproduces_it(tmp_path):
    sol = kanpde.solve("heat1d", overrides=[*QUICK, "problem.constraints=hard"], run_dir=tmp_path / "run")
    for name in ("metrics.json", "history.h5", "checkpoint.pt", "solution.vtu", ".hydra/config.yaml"):
        assert (tmp_path / "run" / name).exists(), name
    again = kanpde.load(tmp_path / "run")
    assert again.metrics == read_json(tmp_path / "run" / "metrics.json") and again.net.constraint is not None
    mesh = meshio.read(tmp_path / "run" / "solution.vtu")
    assert np.abs(again(mesh.points[:, :2])[:, 0] - mesh.point_data["u"]).max() <= 1e-12
    assert np.array_equal(again.history["loss"], sol.history["loss"])
    with pytest.raises(KanpdeError, match="already holds a run; pass resume=true"):
        kanpde.solve("heat1d", overrides=QUICK, run_dir=tmp_path / "run")


def test_save_writes_what_the_run_dir_would(tmp_path, poisson):
    poisson.save(tmp_path / "saved")
    again = kanpde.load(tmp_path / "saved")
    assert again.metrics == poisson.metrics
    x = np.random.default_rng(2).uniform(-1, 1, (50, 2))
    assert np.array_equal(again(x), poisson(x))
    with pytest.raises(KanpdeError, match="already holds a run"):
        poisson.save(tmp_path / "saved")


@pytest.mark.slow
def test_a_problem_object_runs_with_the_default_settings_and_reloads(tmp_path):
    sol = kanpde.solve(Heat1D(constraints="hard"), "kan_small", overrides=QUICK, run_dir=tmp_path / "run")
    assert sol.metrics["problem"] == "Heat1D"
    assert dict(sol.config.problem) == {"_target_": "kanpde.problems.heat.Heat1D", "constraints": "hard"}
    defaults = schema()()
    assert sol.config.optim.lbfgs.history_size == defaults.optim.lbfgs.history_size  # no problem's own settings
    assert sol.config.model.order == KANOptions().order
    again = kanpde.load(tmp_path / "run")
    x = np.random.default_rng(3).uniform(0, 1, (20, 2))
    assert type(again.problem) is Heat1D and again.problem.hard_constraint is not None and np.array_equal(again(x), sol(x))


@pytest.mark.slow
def test_a_problem_object_is_not_changed_by_a_run():
    from kanpde.problems import Heat1DInverse

    problem = Heat1DInverse()
    first = kanpde.solve(problem, "mlp_small", overrides=QUICK)
    assert problem.unknowns["kappa"].item() == 0.5 and first.problem is not problem  # kappa trained in a copy
    second = kanpde.solve(problem, "mlp_small", overrides=QUICK)
    assert first.metrics["unknowns"] == second.metrics["unknowns"] != {"kappa": 0.5}


@pytest.mark.slow
def test_a_problem_that_a_config_cannot_rebuild_is_passed_again(tmp_path):
    class Local(Heat1D):  # defined here: its class path cannot be imported by a later process
        pass

    sol = kanpde.solve(Local(), "mlp_small", overrides=QUICK, run_dir=tmp_path / "run")
    with pytest.raises(KanpdeError, match="cannot rebuild the run's problem .*pass it: kanpde.load"):
        kanpde.load(tmp_path / "run")
    again = kanpde.load(tmp_path / "run", problem=Local())
    assert np.array_equal(again(np.full((1, 2), 0.5)), sol(np.full((1, 2), 0.5)))


def test_callbacks_see_the_steps_and_may_stop_training():
    class StopAt(kanpde.Callback):
        def __init__(self):
            self.seen = []

        def on_step_end(self, loop, step):
            self.seen.append((step.index, loop.phase.name, step.loss))
            if step.index == 11:
                loop.stop("enough")

    stop = StopAt()
    sol = kanpde.solve("poisson2d", "mlp_small", overrides=QUICK, callbacks=[stop])
    assert [s[0] for s in stop.seen] == list(range(12)) and sol.metrics["adam_steps"] == 12
    assert sol.metrics["events"][-1] == {"step": 12, "event": "enough"}
    assert [s[2] for s in stop.seen] == list(sol.history["loss"])


def test_divergence_raises_with_the_solution_attached():
    class Poison(kanpde.Callback):
        def prepare_step(self, loop):
            with torch.no_grad():
                next(loop.net.parameters()).fill_(math.nan)

    with pytest.raises(kanpde.DivergedError, match="non-finite loss at adam step 0 after 8 rollbacks") as info:
        kanpde.solve("poisson2d", "mlp_small", overrides=QUICK, callbacks=[Poison()])
    assert info.value.solution.metrics["status"].startswith("diverged: ")


def test_load_refuses_what_is_not_a_run(tmp_path):
    with pytest.raises(KanpdeError, match="no such run directory"):
        kanpde.load(tmp_path / "nothing")
    (tmp_path / "checkpoint.pt").write_bytes(b"junk")
    with pytest.raises(KanpdeError, match="cannot read checkpoint"):
        kanpde.load(tmp_path)


def test_resume_needs_a_run_directory():
    with pytest.raises(ConfigError, match="resume: needs the run directory"):
        kanpde.solve("poisson2d", overrides=["resume=true"])
