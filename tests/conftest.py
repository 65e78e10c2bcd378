"""Shared fixtures: float64 by default in the numerical tests, and a runner for the CLI."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).parent


@pytest.fixture
def float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def run_cli(*args: str, cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the installed ``kanpde`` console script (as a user would) in ``cwd``."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    exe = Path(sys.executable).with_name("kanpde")
    return subprocess.run([str(exe), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


TINY = ("sampler.n_interior=128", "sampler.n_boundary=64", "output.figures=false", "output.progress=false")


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (``-n``) the workers share the cores: one thread per worker and per
    process a test starts (2-thread torch processes side by side stall each other)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = "1"
        torch.set_num_threads(1)
