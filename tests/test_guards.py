"""No silent wrong result: bad keys and values refused before a run, residuals of the wrong shape
refused before training, divergence beyond NaN rolled back and reported."""
from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import kanpde
from kanpde.errors import KanpdeError
from kanpde.io import read_json
from kanpde.geometry import Box
from kanpde.pde import Dirichlet, Problem

QUICK = ["optim.adam.steps=30", "optim.lbfgs.steps=10", "sampler.n_interior=128", "sampler.n_boundary=64",
         "output.progress=false", "output.figures=false"]


@pytest.mark.parametrize("override, message", [
    ("+foo=1", r"^unknown config key 'foo'; valid keys there: problem, model, optim"),
    ("+optim.adam.stepz=10", r"^unknown config key 'optim.adam.stepz'; did you mean optim.adam.steps\?"),
    ("+model.grid=3", r"^unknown config key 'model.grid'; did you mean model.grid_size\?"),
    ("optim.time_limit=nan", r"^optim.time_limit: must be a finite number, got nan"),
    ("optim.adam.lr=inf", r"^optim.adam.lr: must be a finite number, got inf"),
    ("sampler.adaptive_k=nan", r"^sampler.adaptive_k: must be a finite number"),
    ("sampler.adaptive_c=-5", r"^sampler.adaptive_c: must be >= 0, got -5"),
    ("sampler.n_boundary=0", r"^sampler.n_boundary: must be >= 1, got 0"),
    ("optim.grid.extend_to=[0]", r"^optim.grid.extend_to: needs one grid size per step"),
    ("optim.grid.extend_at=[10] optim.grid.extend_to=[0]",
     r"^optim.grid.extend_to: grid sizes must grow from model.grid_size=5, got \[0\]"),
    ("problem.weights.pde=abc", r"^problem.weights.pde: must be a number, got 'abc'"),
    ("problem.weights.pde=-1", r"^problem.weights.pde: must be a finite number >= 0, got -1"),
    ("problem.weights.pde=0 problem.weights.boundary=0", r"^problem.weights: every loss term has weight 0"),
])
@pytest.mark.slow
def test_bad_keys_and_values_are_refused_before_the_run(override, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(KanpdeError, match=message):
        kanpde.solve("poisson2d", "kan", overrides=[*QUICK, *override.split()])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_the_command_line_refuses_an_unknown_plus_key_in_one_line(tmp_path):
    exe = Path(sys.executable).with_name("kanpde")
    result = subprocess.run([str(exe), "+optim.adam.stepz=10", f"hydra.run.dir={tmp_path / 'run'}", *QUICK],
                            capture_output=True, text=True)
    assert result.returncode != 0 and not (tmp_path / "run" / "metrics.json").exists()
    assert result.stderr.strip().splitlines()[-1].startswith(
        "kanpde: error: unknown config key 'optim.adam.stepz'; did you mean optim.adam.steps?")
    assert "Traceback" not in result.stderr



@pytest.mark.slow
def test_a_run_directory_that_cannot_be_made_is_one_line(tmp_path):
    """Hydra makes hydra.run.dir before kanpde runs: its OSError is named in one line too."""
    (tmp_path / "file").write_text("")
    exe = Path(sys.executable).with_name("kanpde")
    result = subprocess.run([str(exe), f"hydra.run.dir={tmp_path / 'file' / 'run'}", *QUICK],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"kanpde: error: Not a directory: {tmp_path / 'file'}")

class Slipped(Problem):
    """-lap u = 2 pi^2 sin(pi x) sin(pi y), with the source written for a column x[:, :1] or as a mean."""

    inputs, outputs = ("x", "y"), ("u",)

    def __init__(self, slip: str = "column", weights=None):
        super().__init__(weights)
        self.slip = slip
        self.domain = Box([-1, -1], [1, 1])
        self.conditions = [Dirichlet("boundary", value=0.0)]

    def residual(self, x, u, d):
        if self.slip == "column":  # (N, 1) against (N,): (N, N)
            return -d.laplacian("u") - 2 * math.pi**2 * torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])
        return (-d.laplacian("u") - 2 * math.pi**2 * torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1])).mean()

    def exact(self, x):
        return torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])


@pytest.mark.parametrize("slip, shape", [("column", r"\(128, 128\)"), ("mean", r"\(\)")])
def test_a_residual_of_the_wrong_shape_is_refused_before_training(slip, shape, tmp_path):
    with pytest.raises(KanpdeError, match=rf"^Slipped.residual returned shape {shape} at 128 points, expected "
                                          r"\(128,\) or \(128, k\)"):
        kanpde.solve(Slipped(slip), "mlp_small", overrides=QUICK, run_dir=tmp_path / "run")
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_a_condition_of_the_wrong_shape_is_refused():
    class Column(Slipped):
        def __init__(self):
            super().__init__("none")
            self.conditions = [Dirichlet("boundary", value=lambda x: x[:, :1] * 0)]

        def residual(self, x, u, d):
            return -d.laplacian("u") - 2 * math.pi**2 * torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1])

    with pytest.raises(KanpdeError, match=r"^Column: condition 'boundary' returned shape \(64, 64\) at 64 points"):
        kanpde.solve(Column(), "mlp_small", overrides=QUICK)


@pytest.mark.parametrize("model", ["kan_small", "mlp_small"])
def test_a_blow_up_short_of_nan_is_rolled_back_and_reported(model, tmp_path):
    """The loss exploding to ~1e25 without NaN used to end "L-BFGS converged", status ok."""
    with pytest.raises(kanpde.DivergedError, match=r"after 8 rollbacks; the state of step \d+ is kept") as info:
        kanpde.solve("poisson2d", model, overrides=[*QUICK, "optim.adam.lr=1e6"], run_dir=tmp_path / "run")
    metrics = kanpde.load(tmp_path / "run").metrics
    assert metrics["status"].startswith("diverged: ") and "rolled back" in metrics["events"][0]["event"]
    assert math.isfinite(metrics["rel_l2"]) and metrics["rel_l2"] < 10
    assert np.isfinite(info.value.solution(np.zeros((3, 2)))).all()


@pytest.mark.slow
@pytest.mark.parametrize("model", ["kan_small", "mlp_small"])
def test_an_absurd_lbfgs_step_either_trains_or_ends_as_stalled(model, tmp_path):
    """optim.lbfgs.lr=1e30: the strong-Wolfe line search absorbs the step (the MLP trains on), or
    L-BFGS cannot move (B-splines vanish off their grid, the loss stays bounded): with no step
    taken at all the run is not "ok" but stalled, its outputs written, and StalledError raised."""
    try:
        sol = kanpde.solve("poisson2d", model, overrides=[*QUICK, "optim.adam.steps=0", "optim.lbfgs.lr=1e30"],
                           run_dir=tmp_path / "run")
    except kanpde.StalledError as exc:
        metrics = kanpde.load(tmp_path / "run").metrics
        assert metrics["status"] == ("stalled: no phase moved the parameters (L-BFGS converged after 0 iterations: "
                                     "the phase did not move the parameters)")
        assert str(exc).startswith(metrics["status"]) and exc.solution.metrics["lbfgs_steps"] == 0
    else:
        loss = sol.history["loss"]
        assert sol.metrics["status"] == "ok" and loss[-1] < loss[0]
        assert max(float(p.detach().abs().max()) for p in sol.net.parameters()) < 1e3


def test_an_ordinary_run_is_not_flagged():
    sol = kanpde.solve("poisson2d", "kan_small", overrides=QUICK)
    assert sol.metrics["status"] == "ok" and sol.metrics["events"] == []


def _kanpde(*args: str, **kwargs) -> subprocess.Popen:
    """``kanpde ARGS`` with SIGINT at its default, even when these tests run as a background job
    (which starts with SIGINT ignored, and kanpde keeps an ignored SIGINT ignored)."""
    exe = Path(sys.executable).with_name("kanpde")
    return subprocess.Popen([str(exe), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_ends_the_run_with_a_checkpoint_and_status_interrupted(signum, code, tmp_path):
    run_dir = tmp_path / "run"
    args = ["model=mlp_small", "optim.adam.steps=1000000", "sampler.n_interior=64", "sampler.n_boundary=32",
            "output.progress=false", "output.figures=false", "output.eval_every=0", f"hydra.run.dir={run_dir}"]
    proc = _kanpde(*args)
    deadline = time.time() + 120
    while not (run_dir / "checkpoint.pt").exists() and time.time() < deadline:  # written before step 0
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()  # never left running (a no-op once it has ended)
    name = signal.Signals(signum).name
    assert proc.returncode == code, err
    lines = err.strip().splitlines()
    assert "Traceback" not in err and lines[-1].startswith(f"kanpde: error: interrupted by {name} at step ")
    assert lines[-1].endswith("checkpoint written; continue with resume=true")
    metrics = read_json(run_dir / "metrics.json")
    assert metrics["status"] == "interrupted" and metrics["events"][-1]["event"] == f"interrupted by {name}"
    step = metrics["adam_steps"]
    assert step > 0 and kanpde.load(run_dir).metrics["adam_steps"] == step

    resumed = _kanpde(*[a for a in args if not a.startswith("optim.adam.steps")], f"optim.adam.steps={step + 5}",
                      "optim.lbfgs.steps=3", "resume=true")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    metrics = read_json(run_dir / "metrics.json")
    assert metrics["status"] == "ok" and metrics["adam_steps"] == step + 5 and metrics["lbfgs_steps"] == 3



def test_a_signal_the_process_was_told_to_ignore_stays_ignored():
    """A shell starts background jobs with SIGINT ignored (Ctrl-C is for the foreground job):
    training keeps that; SIGTERM still stops it, before the next step."""
    from kanpde.training.interrupt import StopOnSignals

    class Loop:
        reasons: list = []

        def stop(self, reason):
            self.reasons.append(reason)

    loop, signals, before = Loop(), StopOnSignals(), signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        signals.on_train_begin(loop)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)
        signals.on_step_begin(loop)
        assert signals.caught == [] and loop.reasons == []
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)
        assert signals.caught == [signal.SIGTERM] and loop.reasons == []  # the step under way ends first
        signals.on_step_begin(loop)
        signals.close(loop)
        assert loop.reasons == ["interrupted by SIGTERM"]
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.mark.slow
def test_an_interrupted_run_resumes_to_the_uninterrupted_result(tmp_path):
    """SIGTERM sent from inside the run at step 12 (a real signal, a known step): the resumed run
    ends bitwise where an uninterrupted one ends."""
    class Terminate(kanpde.Callback):
        def on_step_end(self, loop, step):
            if step.index == 12:
                os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(kanpde.Interrupted, match=r"interrupted by SIGTERM at step 13 in .*: checkpoint written") as info:
        kanpde.solve("poisson2d", "kan_small", overrides=QUICK, run_dir=tmp_path / "a", callbacks=[Terminate()])
    assert info.value.exit_code == 143 and info.value.solution.metrics["status"] == "interrupted"
    resumed = kanpde.solve("poisson2d", "kan_small", overrides=[*QUICK, "resume=true"], run_dir=tmp_path / "a")
    whole = kanpde.solve("poisson2d", "kan_small", overrides=QUICK)
    assert resumed.metrics["status"] == "ok"
    assert np.array_equal(resumed.history["loss"], whole.history["loss"])
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handlers are put back


@pytest.mark.slow
def test_a_refused_start_leaves_the_run_directory_as_it_was(tmp_path):
    run_dir = tmp_path / "run"
    args = ["model=mlp_small", "optim.adam.steps=20", "optim.lbfgs.steps=5", "sampler.n_interior=64",
            "sampler.n_boundary=32", "output.progress=false", "output.figures=false", f"hydra.run.dir={run_dir}"]
    first = _kanpde(*args)
    assert first.wait(timeout=120) == 0
    files = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.suffix != ".log"}
    assert {p.name for p in files} >= {"config.yaml", "overrides.yaml", "metrics.json", "checkpoint.pt"}
    for extra in (["model.hidden=[7,7]", "resume=true"], ["dtype=float32", "resume=true"], ["seed=3"]):
        refused = _kanpde(*args, *extra)
        _, err = refused.communicate(timeout=120)
        assert refused.returncode == 1 and "Traceback" not in err, err
        assert {p: p.read_bytes() for p in files} == files, extra


@pytest.mark.slow
def test_a_finished_result_stays_until_a_resumed_run_replaces_it(tmp_path):
    sol = kanpde.solve("poisson2d", "mlp_small", overrides=QUICK, run_dir=tmp_path)

    class Kill(kanpde.Callback):
        def on_train_begin(self, loop):
            raise RuntimeError("killed")  # as if the process died once the resumed run had started

    with pytest.raises(RuntimeError):
        kanpde.solve("poisson2d", "mlp_small", overrides=[*QUICK, "resume=true", "optim.lbfgs.steps=20"],
                     run_dir=tmp_path, callbacks=[Kill()])
    metrics = read_json(tmp_path / "metrics.json")
    assert metrics["status"] == "failed: killed" and metrics["previous_status"] == "ok"
    assert metrics["rel_l2"] == sol.metrics["rel_l2"]


def test_resume_without_a_checkpoint_starts_from_step_0_and_stale_temporary_files_go(tmp_path):
    (tmp_path / ".metrics.json.tmp-999999999").write_text("half")
    sol = kanpde.solve("poisson2d", "mlp_small", overrides=[*QUICK, "resume=true"], run_dir=tmp_path)
    assert sol.metrics["status"] == "ok" and sol.metrics["adam_steps"] == 30
    assert not list(tmp_path.glob(".*.tmp-*"))


def test_interpret_checks_its_out_folder_before_the_work(tmp_path, capsys, monkeypatch):
    from kanpde.interpret import cli

    kanpde.solve("poisson2d", "kan_small", overrides=QUICK, run_dir=tmp_path / "run")
    (tmp_path / "file").write_text("mine")
    monkeypatch.setattr("kanpde.interpret.workflow.interpret", lambda *a, **k: pytest.fail("worked first"))
    with pytest.raises(SystemExit) as exit_:
        cli.main([str(tmp_path / "run"), "--out", str(tmp_path / "file" / "x")])
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"kanpde-interpret: error: --out {tmp_path / 'file' / 'x'}: cannot create the folder")


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["missing", "shape", "no_history"])
def test_a_damaged_checkpoint_is_one_clear_line(damage, tmp_path):
    from kanpde.io import load_checkpoint, save_checkpoint

    kanpde.solve("poisson2d", "mlp_small", overrides=QUICK, run_dir=tmp_path)
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    net = state["loop"]["net"]
    name = next(k for k in net if k.endswith("weight"))
    if damage == "missing":
        del net[name]
    elif damage == "shape":
        net[name] = torch.zeros(3, 3, dtype=net[name].dtype)
    else:
        del state["loop"]["history"]
    save_checkpoint(tmp_path / "checkpoint.pt", state)
    expected = {"missing": "Missing key", "shape": "size mismatch", "no_history": "it lacks 'history'"}[damage]
    if damage != "no_history":
        with pytest.raises(KanpdeError, match=rf"^cannot use checkpoint {tmp_path / 'checkpoint.pt'}: .*{expected}"):
            kanpde.load(tmp_path)
    with pytest.raises(KanpdeError, match=rf"^cannot use checkpoint {tmp_path / 'checkpoint.pt'}: .*{expected}"):
        kanpde.solve("poisson2d", "mlp_small", overrides=[*QUICK, "resume=true"], run_dir=tmp_path)


def test_an_exact_solution_of_the_wrong_shape_is_one_clear_line(tmp_path):
    class Outer(Slipped):
        test_points_per_axis = 11

        def __init__(self):
            super().__init__("none")

        def residual(self, x, u, d):
            return -d.laplacian("u") - 2 * math.pi**2 * torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1])

        def exact(self, x):
            return torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1])  # (N, N)

    with pytest.raises(KanpdeError, match=r"^Outer.exact returned shape \((\d+), \1\) at \1 points, expected "
                                          r"\(\1, 1\) for the outputs \(u\)"):
        kanpde.solve(Outer(), "mlp_small", overrides=QUICK, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("override, key", [("sampler.n_interior=100000000", "sampler.n_interior"),
                                           ("model.hidden=[1000000,1000000]", "model.hidden"),
                                           ("model.grid_size=10000000", "model.grid_size")])
def test_absurd_sizes_are_refused_before_anything_is_allocated(override, key):
    with pytest.raises(KanpdeError, match=rf"^{key}: this run needs at least [\d.]+ GiB .*available: [\d.]+ GiB"):
        kanpde.solve("poisson2d", "kan", overrides=[*QUICK, override])


@pytest.fixture
def small_disk(tmp_path):
    """A 128 KiB tmpfs (needs root and mount rights; the test skips otherwise)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a small filesystem here")
    yield mount
    subprocess.run(["umount", str(mount)], capture_output=True)


@pytest.mark.slow
def test_a_full_disk_is_one_line_and_leaves_no_half_written_file(small_disk):
    run_dir = small_disk / "run"
    proc = _kanpde("model.hidden=[64,64]", "optim.adam.steps=20", "optim.lbfgs.steps=0", "sampler.n_interior=64",
                   "sampler.n_boundary=32", "output.progress=false", "output.figures=false", f"hydra.run.dir={run_dir}")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"kanpde: error: no space left on the device while writing {run_dir / 'checkpoint.pt'}")
    assert not (run_dir / "checkpoint.pt").exists() and not list(run_dir.glob(".*.tmp-*"))
    status = read_json(run_dir / "metrics.json")["status"]  # best effort: the disk may be too full for it
    assert status in ("running", f"failed: no space left on the device while writing {run_dir / 'checkpoint.pt'}")


def test_a_read_only_run_directory_is_one_line(small_disk):
    run_dir = small_disk / "run"
    run_dir.mkdir()
    if subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True).returncode != 0:
        pytest.skip("cannot remount read-only")
    with pytest.raises(KanpdeError, match=rf"^run directory {run_dir}/.hydra: cannot create the folder \(read-only file system\)$"):
        kanpde.solve("poisson2d", "mlp_small", overrides=QUICK, run_dir=run_dir)


def test_malformed_yaml_in_a_config_dir_names_the_file_and_line(tmp_path):
    (tmp_path / "problem").mkdir()
    mine = tmp_path / "problem" / "mine.yaml"
    mine.write_text("defaults:\n  - poisson2d\nproblem:\n  weights: {pde: 1\n  bad: [\n")
    with pytest.raises(KanpdeError, match=rf"^{mine}, line 5, column 6: malformed YAML \(while parsing a flow "
                                          r"mapping expected ',' or '}', but got ':'\)$"):
        kanpde.solve("mine", "kan", overrides=QUICK, config_dir=tmp_path)
