"""The examples run as a user runs them (quick budgets), from a directory outside the repository."""
from __future__ import annotations

import subprocess

import pytest
import sys

from conftest import HERE

EXAMPLES = HERE.parent / "examples"


@pytest.mark.slow
def test_python_api_tour(tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLES / "python_api.py"), "--quick"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Solution(poisson2d / kan: rel_l2=") and "residual:" in out
    assert "Solution(Poisson1D / kan_small" in out and "saved and reloaded: ['.hydra', 'checkpoint.pt'" in out
    assert list(tmp_path.iterdir()) == []  # nothing written outside the temporary folder it saves into
