"""The docs cannot go stale: the command reference is --help, every Python block runs, the site builds."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from item2vec.cli import cli
from item2vec.model.embeddings import Embeddings
from item2vec.model.store import save

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_command_reference_matches_help() -> None:
    result = subprocess.run(
        [sys.executable, "docs/cli_reference.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
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


def export_commands(path: Path) -> list[list[str]]:
    """The arguments of every `$ item2vec export demo-models/retail ...` line of a page's console blocks."""
    lines = re.findall(
        r"^\$ item2vec (export demo-models/retail .*)$", path.read_text(encoding="utf-8"), re.M
    )
    return [shlex.split(line, comments=True) for line in lines]


def stand_in_model(path: Path) -> None:
    """A hand-built model with some of the sample's ids, where a page's console blocks export `demo-models/retail`."""
    ids = ["85123A", "22423", "47566", "21733", "23321"]
    rng = np.random.default_rng(1)
    embeddings = Embeddings(
        ids=ids,
        vectors=rng.standard_normal((len(ids), 4)).astype(np.float32),
        counts=np.array([50, 40, 30, 20, 10], dtype=np.int64),
        names={"85123A": "WHITE HANGING HEART T-LIGHT HOLDER"},
        meta={"params": {"min_count": 1, "dim": 4}, "engine": "hand-built"},
    )
    save(embeddings, path)


PAGES_WITH_CODE = sorted(page.name for page in DOCS.glob("*.md") if python_blocks(page))


@pytest.mark.parametrize(
    "page",
    [pytest.param(name, marks=pytest.mark.slow) if name == "python.md" else name for name in PAGES_WITH_CODE],
)
def test_every_python_block_runs_in_order(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each page's blocks run in one namespace, after the page's own `item2vec export` commands."""
    path = DOCS / page
    blocks = python_blocks(path)
    for block in blocks:
        for module in re.findall(r"^\s*(?:import|from) (\w+)", block, re.M):
            pytest.importorskip(module)
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data")
    monkeypatch.chdir(tmp_path)
    commands = export_commands(path)
    if commands:
        stand_in_model(tmp_path / "demo-models" / "retail")
    for args in commands:
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, (args, result.output)
    namespace: dict[str, object] = {"__name__": "docs_" + path.stem}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"docs/{page}, python block {number}", "exec"), namespace)


def test_the_python_guide_has_its_blocks_and_makes_a_model() -> None:
    text = (DOCS / "python.md").read_text(encoding="utf-8")
    assert len(python_blocks(DOCS / "python.md")) >= 8
    assert 'model.save("retail-model")' in text


def test_readme_is_short_and_has_a_python_section_linking_the_guide() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode("utf-8")) <= 12 * 1024
    section = readme.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    assert "docs/python.md" in section and "item2vec.train(" in section


def test_user_docs_name_no_issue_numbers() -> None:
    for path in [ROOT / "README.md", *DOCS.glob("*.md")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"issue[ -]?#?\d", text, re.I), path.name


def test_every_page_is_in_the_site_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = {page.name for page in DOCS.glob("*.md")}
    assert pages == set(re.findall(r": (\S+\.md)$", nav, re.M))


def test_the_site_builds_strictly_with_every_link_and_anchor_resolved(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip("the docs extra is not installed: pip install -e '.[docs]'")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "cli" / "index.html").is_file()
