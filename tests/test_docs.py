from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_command_reference_matches_help() -> None:
    result = subprocess.run(
        [sys.executable, "docs/cli_reference.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_benchmark_smoke_run() -> None:
    result = subprocess.run(
        [sys.executable, "bench/run.py", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("| smoke |")]
    stages = [line.split(" | ")[1] for line in lines]
    assert stages == ["ingest", "train (stream)", "train (stream)", "train (file)", "train (file)", "query"]
    assert all(" — " not in line.split(" | ")[6] for line in lines)  # every ratio was measured
