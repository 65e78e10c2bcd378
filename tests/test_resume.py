"""A run killed with SIGKILL and continued with resume=true ends exactly where an uninterrupted one does."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import TINY

ARGS = (*TINY, "model.hidden=[4]", "model.basis=bspline", "optim.adam.steps=400", "optim.lbfgs.steps=300", "output.checkpoint_every=10",
        "optim.grid.update_every=50", "sampler.resample_every=100")


def start(run: Path, *extra: str) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("kanpde")
    return subprocess.Popen([str(exe), *ARGS, *extra, f"hydra.run.dir={run}"], cwd=run.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def checkpoint_phase(path: Path) -> tuple[int, int] | None:
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)["loop"]
    except Exception:  # noqa: BLE001 - not written yet
        return None
    return state["phase"], state["phase_step"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run = tmp_path_factory.mktemp("full") / "run"
    proc = start(run)
    assert proc.wait(timeout=600) == 0, proc.stderr.read()
    return json.loads((run / "metrics.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("phase", [0, 1], ids=["adam", "lbfgs"])
def test_sigkill_then_resume_matches(tmp_path, uninterrupted, phase):
    run = tmp_path / "run"
    proc = start(run)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        state = checkpoint_phase(run / "checkpoint.pt")
        if state and state[0] == phase and state[1] >= 20:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert json.loads((run / "metrics.json").read_text())["status"] == "running"
    resumed = start(run, "resume=true")
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read()
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("rel_l2", "max_abs_error", "final_loss", "adam_steps", "lbfgs_steps"):
        assert metrics[key] == uninterrupted[key], key
