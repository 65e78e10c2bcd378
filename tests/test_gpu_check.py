"""benchmarks/gpu_check.py, the script a session lent a GPU runs, in its small CPU mode: every
section measures and lands in the file (none FAILED), so a lent device's minutes are not spent on
a broken script."""
from __future__ import annotations

import subprocess

import pytest
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_the_gpu_check_runs_every_section_on_the_cpu(tmp_path):
    out = tmp_path / "gpu.md"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--device", "cpu", "--quick",
                             "--out", str(out)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text()
    assert text.startswith("# GPU check: CPU") and "FAILED" not in text, text
    for title in ("CUDA tests", "Jets vs autograd", "ms per Adam step", "Largest collocation batch", "Time to 1e-4"):
        assert f"**{title}" in text
    assert "poisson2d" in text and "(ok)" in text and "ABOVE" not in text
