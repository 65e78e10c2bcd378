"""The ``kanpde`` command as a user runs it: output contract, bad input, multirun, user problems."""
from __future__ import annotations

import json
import shutil

import meshio
import numpy as np
import pytest
import torch
from kanpde.io import read_history

from conftest import HERE, TINY, run_cli

QUICK = (*TINY, "optim.adam.steps=20", "optim.lbfgs.steps=5")


def one_error_line(result) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kanpde: error: ")
    return lines[0]


@pytest.mark.slow
def test_default_run_writes_the_output_contract(tmp_path):
    run = tmp_path / "run"
    result = run_cli(*QUICK, "output.figures=true", "output.xdmf=true", f"hydra.run.dir={run}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "poisson2d / kan: rel_l2=" in result.stdout
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["problem"] == "poisson2d" and metrics["model"] == "kan"
    assert metrics["adam_steps"] == 20 and metrics["lbfgs_steps"] <= 5
    history = read_history(run / "history.h5")
    assert len(history["step"]) == metrics["adam_steps"] + metrics["lbfgs_steps"]
    for name in ("solution.vtu", "solution.xdmf"):
        mesh = meshio.read(run / name)
        assert mesh.points.shape == (101 * 101, 3) and np.all(mesh.points[:, 2] == 0)
        data = mesh.point_data
        assert set(data) >= {"u", "u_ref", "u_error"}
        assert np.allclose(data["u_error"], data["u"] - data["u_ref"])
        ref = np.sin(np.pi * mesh.points[:, 0]) * np.sin(np.pi * mesh.points[:, 1])
        assert np.allclose(data["u_ref"], ref)
        assert np.isclose(np.linalg.norm(data["u_error"]) / np.linalg.norm(ref), metrics["rel_l2"])
    for name in ("solution.png", "reference.png", "error.png", "loss.png"):
        assert (run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (run / "checkpoint.pt").exists()
    assert not [p.name for p in run.iterdir() if ".tmp" in p.name]


BAD_INPUT = [
    (["problem=poisson9d"], "unknown problem 'poisson9d'; choices: advection1d, allen_cahn, allen_cahn_dirichlet, burgers1d,"),
    (["model=transformer"], "unknown model 'transformer'; choices: kan, kan_"),
    (["model.basis=fourier"], "model.basis: unknown basis 'fourier'; choices: bspline, chebyshev, rbf"),
    (["model.widht=3"], "unknown config key 'model.widht'"),
    (["optim.adam.setps=3"], "unknown config key 'optim.adam.setps'"),
    (["optim.adam.steps=many"], "optim.adam.steps: Value 'many' of type 'str' could not be converted to Integer"),
    (["optim.adam.steps=-5"], "optim.adam.steps: must be >= 0, got -5"),
    (["sampler.n_interior=-1"], "sampler.n_interior: must be >= 1, got -1"),
    (["dtype=float13"], "dtype: Invalid value 'float13', expected one of [float32, float64]"),
    (["device=tpu"], "device: Invalid value 'tpu'"),
    (["sampler.method=random"], "sampler.method: unknown sampling method 'random'; choices: grid, halton, lhs, sobol,"),
    (["problem.weights.bc=2"], "unknown config key 'problem.weights.bc'"),
    (["+problem.weights.bc=2"], "problem.weights.bc: no loss term named 'bc'; terms: pde, boundary"),
    (["model.activation=relu6", "model=mlp"], "model.activation: unknown activation 'relu6'"),
    (["problem=poisson_mesh", "problem.mesh=nothere.msh"], "mesh file nothere.msh does not exist"),
    (["problem=advection1d", "problem.periodic=maybe"], "problem.periodic: must be embedding or soft, got 'maybe'"),
    (["model.basis=rbf", "optim.grid.update_every=10"], "optim.grid: grid updates and extension need model.basis=bspline"),
]


@pytest.mark.slow
@pytest.mark.parametrize("args,message", BAD_INPUT, ids=[a[0] for a, _ in BAD_INPUT])
def test_bad_input_is_one_clear_line(tmp_path, args, message):
    result = run_cli(*QUICK, *args, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert message in one_error_line(result)
    assert not (tmp_path / "run" / "metrics.json").exists()


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu(tmp_path):
    line = one_error_line(run_cli(*QUICK, "device=cuda", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path))
    assert "device: cuda was asked for but torch.cuda.is_available() is False" in line


@pytest.mark.slow
def test_help_lists_the_config_groups(tmp_path):
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0 and "problem: advection1d, allen_cahn, allen_cahn_dirichlet, burgers1d" in result.stdout


@pytest.mark.slow
def test_debug_shows_the_traceback(tmp_path):
    result = run_cli(*QUICK, "optim.adam.steps=-5", "debug=true", f"hydra.run.dir={tmp_path}", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" in result.stderr


@pytest.mark.slow
def test_resume_without_checkpoint_starts_from_step_0(tmp_path):
    result = run_cli(*QUICK, "resume=true", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"resume=true: no checkpoint in {tmp_path / 'run'}, starting from step 0" in result.stderr + result.stdout


@pytest.mark.slow
def test_unreadable_checkpoint_loses_nothing(tmp_path):
    run = tmp_path / "run"
    assert run_cli(*QUICK, f"hydra.run.dir={run}", cwd=tmp_path).returncode == 0
    (run / "checkpoint.pt").write_bytes(b"not a checkpoint at all")
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    line = one_error_line(run_cli(*QUICK, "resume=true", f"hydra.run.dir={run}", cwd=tmp_path))
    assert f"cannot read checkpoint {run / 'checkpoint.pt'}" in line
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name in before} == before


@pytest.mark.slow
def test_finished_run_is_not_overwritten(tmp_path):
    run = tmp_path / "run"
    assert run_cli(*QUICK, f"hydra.run.dir={run}", cwd=tmp_path).returncode == 0
    metrics = (run / "metrics.json").read_bytes()
    line = one_error_line(run_cli(*QUICK, f"hydra.run.dir={run}", cwd=tmp_path))
    assert "already holds a run; pass resume=true" in line and (run / "metrics.json").read_bytes() == metrics
    assert run_cli(*QUICK, "overwrite=true", f"hydra.run.dir={run}", cwd=tmp_path).returncode == 0


@pytest.mark.slow
def test_resume_refuses_a_different_model(tmp_path):
    run = tmp_path / "run"
    assert run_cli(*QUICK, f"hydra.run.dir={run}", cwd=tmp_path).returncode == 0
    line = one_error_line(run_cli(*QUICK, "model.hidden=[7]", "resume=true", f"hydra.run.dir={run}", cwd=tmp_path))
    assert "model: differs from the checkpoint's" in line


@pytest.mark.slow
def test_multirun_leaves_one_folder_per_job(tmp_path):
    result = run_cli("-m", *QUICK, "model=kan,mlp", "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    metrics = [json.loads(p.read_text()) for p in sorted((tmp_path / "sweep").glob("*/metrics.json"))]
    assert [m["model"] for m in metrics] == ["kan", "mlp"] and all(m["status"] == "ok" for m in metrics)


@pytest.mark.slow
def test_a_problem_without_reference_reports_its_loss(tmp_path):
    """No exact(), no data: the run trains, writes everything and says it has nothing to score;
    with output.objective=final_loss it can still be compared and searched."""
    shutil.copytree(HERE / "userland", tmp_path / "userland")
    user = tmp_path / "userland"
    result = run_cli("--config-dir", "conf", "problem=my_source1d", *QUICK, "hydra.run.dir=run", cwd=user)
    assert result.returncode == 0, result.stderr
    assert "my_source1d / kan: no reference data, final_loss=" in result.stdout
    metrics = json.loads((user / "run" / "metrics.json").read_text())
    assert metrics["rel_l2"] is None and metrics["status"] == "ok" and metrics["final_loss"] > 0
    assert {"solution.vtu", "history.h5", "checkpoint.pt"} <= {p.name for p in (user / "run").iterdir()}


@pytest.mark.slow
def test_a_problem_outside_the_library(tmp_path):
    shutil.copytree(HERE / "userland", tmp_path / "userland")
    user = tmp_path / "userland"
    result = run_cli("--config-dir", "conf", "problem=my_poisson1d", *TINY, "optim.adam.steps=200",
                     "optim.lbfgs.steps=200", "problem.frequency=2.0", "hydra.run.dir=run", cwd=user)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((user / "run" / "metrics.json").read_text())
    assert metrics["problem"] == "my_poisson1d" and metrics["rel_l2"] < 1e-2
    assert meshio.read(user / "run" / "solution.vtu").cells[0].type == "line"
    bad = run_cli("--config-dir", "conf", "problem=my_poisson1d", *QUICK, "problem.frequency=fast",
                  "hydra.run.dir=run2", cwd=user)
    assert "problem.frequency: expected float, got 'fast'" in one_error_line(bad)
    bad = run_cli("--config-dir", "conf", "problem=my_poisson1d", *QUICK, "problem.ends=left", "hydra.run.dir=run3",
                  cwd=user)
    assert ("conditions.ends: is on the boundary 'left', which the domain (Box) lacks; its boundaries: boundary, x_lo, "
            "x_hi") in one_error_line(bad)
    bad = run_cli("--config-dir", "conf", "problem=my_poisson1d", *QUICK, "problem.field=v", "hydra.run.dir=run4",
                  cwd=user)
    assert "conditions.ends: names the field 'v', which the problem lacks; its fields: u" in one_error_line(bad)
    assert not any((user / run / "metrics.json").exists() for run in ("run2", "run3", "run4"))


@pytest.mark.slow
def test_a_mesh_without_2d_cells_is_one_clear_line(tmp_path):
    meshio.write(tmp_path / "lines.msh", meshio.Mesh(np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]), [("line", [[0, 1]])]),
                 file_format="gmsh22", binary=False)
    result = run_cli(*QUICK, "problem=poisson_mesh", f"problem.mesh={tmp_path / 'lines.msh'}", "hydra.run.dir=run",
                     cwd=tmp_path)
    assert "lines.msh has no 2-D cells (triangles or quads)" in one_error_line(result)
