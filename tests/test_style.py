"""The code base passes its own linter settings (``[tool.ruff]`` in pyproject.toml)."""

# SPDX-License-Identifier: MIT

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("ruff", reason="ruff is in the test extra; installed without it, there is no linter to run")


def test_ruff_check_passes():
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT / "skfmnist"), str(ROOT / "tests"),
         str(ROOT / "benchmarks")],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr
