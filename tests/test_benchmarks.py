"""Smoke test: every benchmark runs at a tiny size, so that they do not rot."""

import importlib.util
from pathlib import Path

import pytest

from .conftest import requires_data

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_speed.py"


@requires_data
@pytest.mark.timeout(600)
def test_bench_speed_quick(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_speed", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "RESULTS.md"
    results = bench.main(["--quick", "--out", str(out)])
    text = out.read_text()
    for heading in ("1. Wrapper overhead", "3. Distance to the machine's limit", "4. Grid search", "5. Memory"):
        assert heading in text
    assert {r["model"] for r in results["overhead"]} == {"dense", "cnn", "deep_cnn"}
    assert all(r["fit_ratio"] > 0 and r["flops_per_image"] > 0 for r in results["overhead"])
    assert set(results["grid"]) >= {1, 2, "speedup", "same_scores"}
    assert results["machine_gflops"] > 0
