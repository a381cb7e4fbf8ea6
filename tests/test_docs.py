from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

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


def python_blocks(path: Path) -> list[str]:
    """The code of every ```python block of a Markdown file, in order."""
    return re.findall(r"^```python\n(.*?)^```$", path.read_text(encoding="utf-8"), re.S | re.M)


def test_python_guide_runs_every_block_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(ROOT / "docs" / "python.md")
    assert len(blocks) >= 8
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "docs_python"}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"docs/python.md, python block {number}", "exec"), namespace)
    assert (tmp_path / "retail-model" / "model.json").is_file()


def test_readme_has_a_python_section_linking_the_guide() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    assert "docs/python.md" in section and "item2vec.train(" in section
