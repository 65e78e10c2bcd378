"""Strategies from plain arguments: kanpde's phases and weightings built from keyword arguments,
and a user's own phase and weighting (tests/userland/my_strategies.py, registered on import) run
from kanpde.solve, from the command line (plugins=[...]) and resumed."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import kanpde
from kanpde import ConfigError
from kanpde.training import (LBFGS, PHASES, WEIGHTINGS, Adam, Callback, ResidualAttention, SSBroyden, Step)

USERLAND = Path(__file__).parent / "userland"
sys.path.insert(0, str(USERLAND))
from my_strategies import HeavyBall, LogSum  # noqa: E402

QUIET = {"output": {"progress": False, "figures": False}}
SMALL = ["sampler.n_interior=64", "sampler.n_boundary=32"]


def test_builtin_strategies_take_keyword_arguments_and_check_them():
    adam = Adam(steps=10, lr=2e-3)
    assert (adam.steps, adam.options.lr, adam.options.lr_final, adam.options.schedule) == (10, 2e-3, 1e-3, "exponential")
    assert ResidualAttention(eta=0.05).options.gamma == 0.999
    with pytest.raises(ConfigError, match=r"^lr: must be > 0, got -1$"):
        Adam(lr=-1)
    with pytest.raises(ConfigError, match=r"^c2: the Wolfe constants need 0 < c1 < c2 < 1"):
        SSBroyden(c1=0.5, c2=0.1)
    with pytest.raises(ConfigError, match=r"^stepz: not an option of the Adam phase; options: steps, lr"):
        Adam(stepz=3)
    with pytest.raises(ConfigError, match=r"^schedule: unknown learning-rate schedule 'linear'"):
        Adam(schedule="linear")


def test_every_registered_strategy_has_a_schema_section():
    from kanpde.schema import schema
    from omegaconf import OmegaConf

    cfg = OmegaConf.structured(schema())
    for name, cls in PHASES.items():
        assert OmegaConf.to_container(cfg.optim[name]) == cls.Options().as_dict()
    assert cfg.optim.heavy_ball.momentum == 0.9 and cfg.optim.weighting.log_sum.scale == 1.0


def test_a_user_weighting_is_its_formula():
    terms = {"pde": torch.tensor(3.0, dtype=torch.float64), "boundary": torch.tensor(0.2, dtype=torch.float64)}
    total = LogSum(scale=0.5).bind({"pde": 1.0, "boundary": 10.0})(terms, {}, {})
    assert float(total) == pytest.approx(0.5 * math.log1p(3.0 / 0.5) + 10 * 0.5 * math.log1p(0.2 / 0.5), rel=1e-14)


def test_a_user_phase_and_weighting_train_from_solve():
    sol = kanpde.solve("poisson2d", "kan_small", overrides=SMALL, phases=[HeavyBall(steps=40, lr=2e-3), LBFGS(steps=10)],
                       weighting=LogSum(scale=0.5), **QUIET)
    m, optim = sol.metrics, sol.config.optim
    assert (m["heavy_ball_steps"], m["lbfgs_steps"], m["adam_steps"]) == (40, 10, 0) and m["status"] == "ok"
    assert list(optim.phases) == ["heavy_ball", "lbfgs"] and optim.heavy_ball.lr == 2e-3 and optim.lbfgs.steps == 10
    assert optim.weighting.name == "log_sum" and optim.weighting.log_sum.scale == 0.5
    loss = sol.history["loss"]
    assert loss[39] < loss[0] and loss[-1] < loss[39]
    assert set(sol.history["phase"]) == {PHASES.index("heavy_ball"), PHASES.index("lbfgs")}


def test_the_first_heavy_ball_step_is_plain_gradient_descent():
    """theta_1 = theta_0 - lr g_0 (the momentum buffer starts at g_0), against autograd."""
    class Record(Callback):
        def on_train_begin(self, loop):
            total, _ = loop.loss()
            self.grad = torch.autograd.grad(total, loop.parameters())
            self.before = loop.flat_parameters()

        def on_step_end(self, loop, step: Step):
            if step.index == 0:
                self.after = loop.flat_parameters()

    record = Record()
    kanpde.solve("poisson2d", "kan_small", overrides=SMALL, phases=[HeavyBall(steps=1, lr=1e-2)], callbacks=[record],
                 **QUIET)
    expected = record.before - 1e-2 * torch.cat([g.reshape(-1) for g in record.grad])
    assert torch.allclose(record.after, expected, rtol=0, atol=1e-15)


class Halt(Callback):
    def on_step_begin(self, loop):
        if loop.global_step == 25:
            loop.stop("halted by the test")


def test_user_strategies_resume_bitwise(tmp_path):
    def solve(run_dir, callbacks=(), **extra):
        return kanpde.solve("poisson2d", "kan_small", overrides=SMALL, run_dir=run_dir, callbacks=callbacks,
                            phases=[HeavyBall(steps=30, lr=2e-3), LBFGS(steps=15)], weighting=LogSum(scale=0.5),
                            **QUIET, **extra)

    whole = solve(tmp_path / "whole")
    cut = solve(tmp_path / "cut", [Halt()])
    assert len(cut.history["loss"]) == 25
    resumed = solve(tmp_path / "cut", resume=True)
    assert np.array_equal(resumed.history["loss"], whole.history["loss"])
    flat = lambda s: torch.cat([p.detach().reshape(-1) for p in s.net.parameters()])  # noqa: E731
    assert torch.equal(flat(resumed), flat(whole))


def kanpde_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(Path(sys.executable).with_name("kanpde")), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_user_strategies_from_the_command_line(tmp_path):
    run = tmp_path / "run"
    done = kanpde_cli("plugins=[my_strategies]", "model=kan_small", *SMALL, "optim.phases=[heavy_ball,lbfgs]",
                      "optim.heavy_ball.steps=20", "optim.heavy_ball.lr=2e-3", "optim.lbfgs.steps=5",
                      "optim.weighting.name=log_sum", "optim.weighting.log_sum.scale=0.5", "output.figures=false",
                      f"hydra.run.dir={run}", cwd=USERLAND)
    assert done.returncode == 0, done.stderr
    assert "steps=20+5" in done.stdout
    metrics = json.loads((run / "metrics.json").read_text())
    assert (metrics["heavy_ball_steps"], metrics["lbfgs_steps"], metrics["status"]) == (20, 5, "ok")
    config = yaml.safe_load((run / ".hydra" / "config.yaml").read_text())
    assert config["plugins"] == ["my_strategies"] and config["optim"]["heavy_ball"]["lr"] == 2e-3
    again = kanpde.load(run)  # the plugin is imported again from the recorded config
    assert again.config.optim.weighting.name == "log_sum"


@pytest.mark.slow
def test_user_options_are_checked_with_their_config_key(tmp_path):
    done = kanpde_cli("plugins=[my_strategies]", "optim.phases=[heavy_ball]", "optim.heavy_ball.momentum=2",
                      f"hydra.run.dir={tmp_path / 'run'}", cwd=USERLAND)
    assert done.returncode == 1
    assert done.stderr.strip() == "kanpde: error: optim.heavy_ball.momentum: must be in [0, 1), got 2.0"
    assert not (tmp_path / "run" / "metrics.json").exists()
    done = kanpde_cli("plugins=[no_such_module]", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.strip().startswith(
        "kanpde: error: plugins: cannot import 'no_such_module' (ModuleNotFoundError")


def test_unregistered_or_repeated_phases_are_refused():
    class Loose(HeavyBall):
        pass

    with pytest.raises(ConfigError, match=r"^phases: Loose\(steps=100, lr=0.001, momentum=0.9\) is not a registered phase"):
        kanpde.solve("poisson2d", phases=[Loose()])
    with pytest.raises(ConfigError, match=r"^phases: two adam phases would share the section optim.adam"):
        kanpde.solve("poisson2d", phases=[Adam(steps=1), Adam(steps=2)])
    assert "log_sum" in WEIGHTINGS


@pytest.mark.slow
def test_a_run_made_beside_a_user_strategy_reloads_without_it(tmp_path):
    """The run's config holds the sections of every strategy registered when it ran; a process
    that has not imported the user's module still reloads it (load trains nothing)."""
    kanpde.solve("poisson2d", "kan_small", overrides=[*SMALL, "optim.adam.steps=5", "optim.lbfgs.steps=2"],
                 run_dir=tmp_path / "run", **QUIET)
    code = f"import kanpde; print(kanpde.load({str(tmp_path / 'run')!r}).metrics['status'])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
