"""Data-parallel training under torchrun (2 gloo processes on the CPU): the same iterates as one
process over the union of the ranks' points, checkpoints and resume, a lost rank, refusals."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

import kanpde
from kanpde.io import read_json

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")
SCRIPT = Path(__file__).parent / "userland" / "data_parallel.py"
BUDGET = ["optim.adam.steps=30", "optim.lbfgs.steps=10", "dtype=float64", "output.figures=false",
          "output.progress=false"]
UNION = ["sampler.n_interior=256", "sampler.n_boundary=128"]  # one process: both ranks' points
SHARE = ["sampler.n_interior=128", "sampler.n_boundary=64"]  # each of 2 ranks


KANPDE = str(Path(sys.executable).with_name("kanpde"))  # the installed command, as a user runs it


def torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node=2 ARGS`` in ``cwd`` (away from the source tree,
    which ``python -m kanpde`` there would import instead of the installed package)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args],
                          env=env, capture_output=True, text=True, timeout=120, cwd=cwd)


def flat(run_dir: Path) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in kanpde.load(run_dir).net.parameters()])


@pytest.mark.slow
@pytest.mark.parametrize("extra", [
    ["model=kan_small", "optim.grid.update_every=10", "sampler.resample_every=20"],  # grids fitted at all points
    ["model=kan_small", "optim.phases=[adam,ssbroyden]", "optim.ssbroyden.steps=10", "optim.weighting.name=grad_norm",
     "optim.weighting.grad_norm.every=10"],  # weights from the averaged gradients
], ids=["lbfgs-grid-resample", "ssbroyden-grad_norm"])
def test_two_processes_take_the_steps_of_one_over_the_union_of_their_points(extra, tmp_path):
    """Every phase, grid update, resampling round and gradient-based weight gives the iterates of
    one process over the union of the ranks' points (float64, summation order aside)."""
    result = torchrun("-m", "kanpde", *BUDGET, *SHARE, *extra, f"hydra.run.dir={tmp_path / 'two'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("poisson2d / kan_small: rel_l2=") == 1  # rank 0 reports, alone
    one = kanpde.solve("poisson2d", "kan_small", overrides=[*BUDGET, *UNION, *extra[1:]], run_dir=tmp_path / "one")
    two = read_json(tmp_path / "two" / "metrics.json")
    assert two["processes"] == 2 and one.metrics["processes"] == 1 and two["status"] == "ok"
    steps = [f"{phase}_steps" for phase in ("adam", "lbfgs", "ssbroyden")]
    assert [two[k] for k in steps] == [one.metrics[k] for k in steps] and two["adam_steps"] == 30
    a, b = flat(tmp_path / "one"), flat(tmp_path / "two")
    assert float((a - b).norm() / a.norm()) <= 1e-10
    loss_one, loss_two = one.history["loss"], kanpde.load(tmp_path / "two").history["loss"]
    assert abs(loss_one - loss_two).max() <= 1e-10 * abs(loss_one).max()
    assert abs(two["rel_l2"] - one.metrics["rel_l2"]) <= 1e-10 * one.metrics["rel_l2"]
    written = sorted(p.name for p in (tmp_path / "two").iterdir())
    assert written == sorted(["kanpde.log", *(p.name for p in (tmp_path / "one").iterdir())])

    with pytest.raises(kanpde.ConfigError, match=r"^processes: the run was trained by 2 processes and resumes with 1"):
        kanpde.solve("poisson2d", "kan_small", overrides=[*BUDGET, *SHARE, *extra[1:], "resume=true"],
                     run_dir=tmp_path / "two")


@pytest.mark.slow
def test_an_interrupted_two_process_run_resumes_to_the_uninterrupted_result(tmp_path):
    """Rank 0 alone receives SIGTERM at step 12: both ranks stop before the same step, rank 0
    checkpoints; resumed with two processes the run ends bitwise where an uninterrupted one does."""
    whole = torchrun(str(SCRIPT), str(tmp_path / "whole"), "train", *BUDGET, *SHARE, cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr[-3000:]
    cut = torchrun(str(SCRIPT), str(tmp_path / "cut"), "term12", *BUDGET, *SHARE, cwd=tmp_path)
    assert cut.returncode != 0 and "Interrupted: interrupted by SIGTERM at step 13" in cut.stderr, cut.stderr[-3000:]
    metrics = read_json(tmp_path / "cut" / "metrics.json")
    assert metrics["status"] == "interrupted" and metrics["adam_steps"] == 13
    resumed = torchrun(str(SCRIPT), str(tmp_path / "cut"), "resume", *BUDGET, *SHARE, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert torch.equal(flat(tmp_path / "cut"), flat(tmp_path / "whole"))
    assert read_json(tmp_path / "cut" / "metrics.json")["final_loss"] == read_json(tmp_path / "whole" / "metrics.json")["final_loss"]


@pytest.mark.slow
def test_a_lost_rank_ends_the_run_with_a_clear_status(tmp_path):
    result = torchrun(str(SCRIPT), str(tmp_path / "run"), "kill5", *BUDGET, *SHARE, cwd=tmp_path)
    assert result.returncode != 0
    status = read_json(tmp_path / "run" / "metrics.json")["status"]
    assert status.startswith("failed: rank 0: another process of this 2-process run ended or cannot be reached"), status
    assert "rank 0: RankLost: rank 0: another process" in result.stderr


@pytest.mark.slow
def test_adaptive_sampling_is_refused_in_a_data_parallel_run(tmp_path):
    result = torchrun("--no-python", KANPDE, *BUDGET, *SHARE, "sampler.adaptive=true", "sampler.resample_every=10",
                      f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode != 0 and not (tmp_path / "run" / "metrics.json").exists()
    assert "kanpde: error: sampler.adaptive: adaptive sampling is not available in a run of 2 processes" in result.stderr
