"""The open training loop: every registered phase, schedule and weighting, the hook order, and an
in-process resume from ``Loop.state_dict``."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import make_config, make_problem, net_for

from kanpde.problems import Poisson2D
from kanpde.build import build_loop
from kanpde.training import PHASES, SCHEDULES, WEIGHTINGS, Callback, Loop, DivergenceGuard

pytestmark = pytest.mark.usefixtures("float64")
SMALL = ("sampler.n_interior=64", "sampler.n_boundary=32", "output.progress=false", "model=kan_small")


def loop_for(*overrides: str, callbacks=()) -> Loop:
    cfg = make_config(*SMALL, *overrides)
    problem = Poisson2D()
    torch.manual_seed(0)
    loop, _ = build_loop(cfg, problem, net_for(problem, cfg.model), lambda net: 0.0, callbacks=callbacks)
    return loop


@pytest.mark.slow
@pytest.mark.parametrize("name", PHASES.names())
def test_every_phase_lowers_the_loss_alone(name):
    cfg = make_config(*SMALL)
    phase = PHASES.get(name)(**{**cfg.optim[name], "steps": 40})
    base = loop_for()
    loop = Loop(base.loss, [phase], [DivergenceGuard()])
    first = float(loop.loss()[0].detach())
    loop.run()
    history = loop.history.arrays()
    assert set(history["phase"]) == {phase.code} and 0 < len(history["loss"]) <= 40
    assert history["loss"][-1] < 0.5 * first, (first, history["loss"][-1])
    assert list(history["step"]) == list(range(len(history["step"])))


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_every_schedule_runs_from_lr_towards_lr_final(name):
    schedule = SCHEDULES.get(name)
    values = [schedule(1e-2, 1e-3, f) for f in np.linspace(0, 1, 11)]
    assert values[0] == pytest.approx(1e-2)
    assert values[-1] == pytest.approx(1e-2 if name == "constant" else 1e-3)
    assert all(b <= a + 1e-15 for a, b in zip(values, values[1:]))


@pytest.mark.slow
@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_every_weighting_trains_a_time_dependent_problem(name):
    """Each registered weighting is built from the config, gives a finite scalar with gradients,
    and a short Adam + L-BFGS run with it lowers the unweighted loss terms."""
    cfg = make_config(*SMALL, "problem=heat1d", f"optim.weighting.name={name}", "optim.adam.steps=60",
                      "optim.lbfgs.steps=20", "optim.weighting.grad_norm.every=10", "optim.weighting.causal.eps=0.1")
    problem = make_problem("heat1d")
    torch.manual_seed(0)
    loop, _ = build_loop(cfg, problem, net_for(problem, cfg.model), lambda net: 0.0)
    total, terms = loop.loss()
    total.backward()
    assert total.ndim == 0 and math.isfinite(float(total)) and all(p.grad is not None for p in loop.parameters())
    loop.run()
    last = loop.history.arrays()
    assert sum(last[f"loss_terms/{k}"][-1] for k in terms) < 0.5 * sum(terms.values())


def test_hooks_come_in_the_documented_order():
    class Recorder(Callback):
        def __init__(self):
            self.calls = []

        def __getattribute__(self, name):
            attr = object.__getattribute__(self, name)
            if name in ("on_train_begin", "on_phase_begin", "on_step_begin", "prepare_step", "accept_step",
                        "on_step_end", "on_train_end", "close"):
                def hook(*args):
                    self.calls.append(name)
                    return attr(*args)
                return hook
            return attr

    recorder = Recorder()
    loop = loop_for("optim.adam.steps=2", "optim.lbfgs.steps=1", callbacks=[recorder])
    loop.run()
    step = ["on_step_begin", "prepare_step", "accept_step", "on_step_end"]
    assert recorder.calls == (["on_train_begin", "on_phase_begin", *step, *step, "on_phase_begin", "on_step_begin",
                               "accept_step", "on_step_end", "on_train_end", "close"])


@pytest.mark.slow
@pytest.mark.parametrize("at", [7, 25], ids=["adam", "lbfgs"])
def test_a_loop_continued_from_its_state_ends_bitwise_where_one_run_does(at):
    args = ("optim.adam.steps=20", "optim.lbfgs.steps=15", "sampler.resample_every=5", "optim.grid.update_every=6",
            "optim.grid.extend_at=[10]", "optim.grid.extend_to=[7]")
    whole = loop_for(*args)
    whole.run()

    class Halt(Callback):
        def on_step_begin(self, loop):
            if loop.global_step == at:
                loop.stop("halt")

    first = loop_for(*args, callbacks=[Halt()])
    first.run()
    state = first.state_dict()
    second = loop_for(*args)
    second.load_state_dict(state)
    second.run()
    assert np.array_equal(second.history.arrays()["loss"], whole.history.arrays()["loss"])
    assert torch.equal(second.flat_parameters(), whole.flat_parameters())


def test_a_changed_phase_list_refuses_to_resume():
    loop = loop_for("optim.adam.steps=2", "optim.lbfgs.steps=0")
    loop.run()
    other = loop_for("optim.adam.steps=2", "optim.phases=[lbfgs]")
    with pytest.raises(Exception, match=r"optim.phases: \['lbfgs'\] differs from the checkpoint's \['adam', 'lbfgs'\]"):
        other.load_state_dict(loop.state_dict())


def test_the_nan_guard_gives_up_after_its_rollbacks():
    class Poison(Callback):
        def prepare_step(self, loop):
            with torch.no_grad():
                next(loop.net.parameters()).fill_(math.nan)

    loop = loop_for("optim.adam.steps=30", "optim.lbfgs.steps=0", callbacks=[Poison()])
    with pytest.raises(Exception, match="non-finite loss at adam step 0 after 8 rollbacks"):
        loop.run()
    assert len(loop.events) == 8 and all("rolled back" in e["event"] for e in loop.events)
