"""kanpde-compare on a tiny multirun: tables, figures, and bad input."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kanpde.compare import Run, find_runs, summarize
from kanpde.errors import KanpdeError

from conftest import TINY, run_cli


def compare(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("kanpde-compare")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """kanpde -m problem=poisson2d model=kan,mlp seed=0,1 at a tiny budget (as in the issue)."""
    root = tmp_path_factory.mktemp("sweep")
    result = run_cli("-m", *TINY, "problem=poisson2d", "model=kan,mlp", "seed=0,1", "optim.adam.steps=50",
                     "optim.lbfgs.steps=5", "output.eval_every=10", "hydra.sweep.dir=sweep", cwd=root)
    assert result.returncode == 0, result.stderr
    return root / "sweep"


@pytest.mark.slow
def test_tables_and_figures(sweep, tmp_path):
    result = compare(str(sweep), "--out", str(tmp_path / "cmp"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "4 runs of 1 problem(s) (poisson2d)" in result.stdout
    out = tmp_path / "cmp"
    rows = list(csv.DictReader(open(out / "table.csv")))
    assert [(r["problem"], r["model"], r["runs"], r["ok"]) for r in rows] == [
        ("poisson2d", "kan", "2", "2"), ("poisson2d", "mlp", "2", "2")]
    metrics = [json.loads(p.read_text()) for p in sweep.glob("*/metrics.json")]
    kan_errors = sorted(m["rel_l2"] for m in metrics if m["model"] == "kan")
    assert float(rows[0]["rel_l2_min"]) == kan_errors[0] and float(rows[0]["rel_l2_max"]) == kan_errors[1]
    assert "| poisson2d | kan | 2/2 | 1056 |" in (out / "table.md").read_text()
    for stem in ("poisson2d_convergence", "poisson2d_error_vs_params", "poisson2d_fields"):
        assert (out / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert (out / f"{stem}.pdf").read_bytes()[:4] == b"%PDF"


def test_time_to_reach_reads_the_eval_rows(sweep):
    runs, _ = find_runs([sweep])
    run = runs[0]
    h = run.history
    first = h["eval/rel_l2"][0]
    assert run.time_to_reach(first) == h["eval/elapsed_s"][0]
    assert run.time_to_reach(0.0) is None


@pytest.mark.slow
def test_failed_and_corrupt_runs_are_listed_not_dropped(sweep, tmp_path):
    copy = tmp_path / "sweep"
    shutil.copytree(sweep, copy)
    (copy / "0" / "metrics.json").write_text("{ not json")
    metrics = json.loads((copy / "1" / "metrics.json").read_text())
    (copy / "1" / "metrics.json").write_text(json.dumps({**metrics, "status": "diverged: loss is nan"}))
    result = compare(str(copy), "--out", str(tmp_path / "cmp"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"kanpde-compare: warning: skipped {copy / '0'}: cannot read {copy / '0' / 'metrics.json'}" in result.stderr
    table = (tmp_path / "cmp" / "table.md").read_text()
    assert "| poisson2d | kan | 0/1 |" in table and "1 (seed 1): diverged: loss is nan" in table


@pytest.mark.slow
def test_no_runs_is_one_clear_line(tmp_path):
    result = compare(str(tmp_path), "--out", str(tmp_path / "cmp"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"kanpde-compare: error: no runs (no readable metrics.json) under {tmp_path}"
    missing = compare(str(tmp_path / "nope"), "--out", str(tmp_path / "cmp"), cwd=tmp_path)
    assert missing.stderr.strip() == f"kanpde-compare: error: {tmp_path / 'nope'}: no such directory"


def test_problems_are_never_mixed(tmp_path):
    runs = [Run(tmp_path / str(i), {"problem": p, "model": "kan", "status": "ok", "rel_l2": e, "max_abs_error": e,
                                    "train_seconds": 1.0, "n_params": 10, "seed": i}, None)
            for i, (p, e) in enumerate([("a", 0.1), ("b", 0.2), ("a", 0.3)])]
    rows = summarize(runs)
    assert [(r["problem"], r["runs"], r["rel_l2"]) for r in rows] == [("a", 2, (0.2, 0.1, 0.3)), ("b", 1, (0.2, 0.2, 0.2))]
    with pytest.raises(KanpdeError):
        find_runs([tmp_path / "missing"])


@pytest.mark.slow
def test_overlapping_folders_count_each_run_once_and_bad_numbers_are_skipped(sweep, tmp_path):
    copy = tmp_path / "sweep"
    shutil.copytree(sweep, copy)
    metrics = json.loads((copy / "1" / "metrics.json").read_text())
    (copy / "1" / "metrics.json").write_text(json.dumps({**metrics, "rel_l2": "abc"}))
    result = compare(str(copy), str(copy / "0"), "--out", str(tmp_path / "cmp"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"skipped {copy / '1'}: {copy / '1' / 'metrics.json'}: rel_l2 is not a number ('abc')" in result.stderr
    assert "3 runs of 1 problem(s)" in result.stdout


@pytest.mark.slow
def test_out_that_is_a_file_is_one_clear_line(sweep, tmp_path):
    (tmp_path / "table").write_text("mine")
    result = compare(str(sweep), "--out", str(tmp_path / "table"), cwd=tmp_path)
    assert result.returncode == 1 and (tmp_path / "table").read_text() == "mine"
    assert result.stderr.strip() == f"kanpde-compare: error: --out {tmp_path / 'table'}: a file, not a folder"
