"""The HTML report: one self-contained page with summary, evaluation, map and neighbours."""

from __future__ import annotations

import random
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli
from item2vec.model.embeddings import Embeddings
from item2vec.model.store import save
from item2vec.visual.html_report import (
    ReportRequest,
    html_table,
    make_report,
    popular_neighbours,
    summary_tables,
)
from tests.conftest import tiny_embeddings

EVIL = "<script>alert(1)</script> & co"
FAST = ["--dim", "12", "--epochs", "5", "--min-count", "1", "--sample", "0", "--workers", "1", "-q"]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


class Page(HTMLParser):
    """Headings, table cells, script tags and external references of a page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.cells: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.external: list[str] = []
        self._in: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h1", "h2", "h3", "td", "th"):
            self._in = tag
            (self.headings if tag.startswith("h") else self.cells).append("")
        if tag == "script":
            self.scripts.append(dict(attrs))
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.external.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in in ("h1", "h2", "h3"):
            self.headings[-1] += data
        elif self._in in ("td", "th"):
            self.cells[-1] += data


def test_report_without_map_has_summary_and_neighbours(tmp_path: Path) -> None:
    emb = tiny_embeddings()
    emb.names["prince"] = EVIL
    out = make_report(emb, tmp_path / "r.html", request=ReportRequest(title="Tiny"))
    text = out.read_text(encoding="utf-8")
    page = Page(text)
    assert page.headings[:2] == ["Tiny", "Training summary"]
    assert "Evaluation" not in page.headings and "Map" not in page.headings
    assert page.headings[-8:] == [
        "king — King (80 uses)",
        "queen (70 uses)",
        "man (60 uses)",
        "woman (50 uses)",
        "prince — <script>alert(1)</script> & co (40 uses)",
        "apple — Red Apple (30 uses)",
        "pear — Green Pear (20 uses)",
        "plum — Plum (dark) (10 uses)",
    ]
    assert EVIL not in text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text
    assert page.scripts == [] and page.external == []
    # king's nearest neighbour is prince (cosine 0.956): rank, item, name, count, score
    first = page.cells.index("rank")
    assert page.cells[first : first + 10] == [
        "rank",
        "item",
        "name",
        "count",
        "score",
        "1",
        "prince",
        EVIL,
        "40",
        "0.9562",
    ]


def test_popular_neighbours_exact() -> None:
    rows = popular_neighbours(tiny_embeddings(), 2, 2)
    assert rows[0][0] == {"item": "king", "name": "King", "count": 80}
    assert [r["item"] for r in rows[0][1]] == ["prince", "man"]
    assert rows[1][0]["item"] == "queen"
    assert rows[1][1][0] == {"rank": 1, "item": "woman", "name": "", "count": 50, "score": 0.7071}
    assert popular_neighbours(tiny_embeddings(), 0, 5) == []


def test_summary_groups_the_info_record() -> None:
    tables = summary_tables(tiny_embeddings())
    assert list(tables) == ["Model", "Parameters"]
    assert tables["Model"][:4] == [("items", 8), ("dim", 4), ("named_items", 4), ("dropped_items", 1)]
    assert ("engine", "hand-built") in tables["Model"]
    assert tables["Parameters"] == [("min_count", 5), ("dim", 4)]


def test_html_table_escapes_aligns_and_marks_best() -> None:
    rows = [{"method": "model", "hr@10": 0.5}, {"method": "<b>", "hr@10": 0.25}]
    table = html_table(rows, best={(0, "hr@10")})
    assert table == (
        '<table><thead><tr><th>method</th><th class="num">hr@10</th></tr></thead><tbody>'
        '<tr><td>model</td><td class="num best">0.5000</td></tr>'
        '<tr><td>&lt;b&gt;</td><td class="num">0.2500</td></tr></tbody></table>'
    )


def test_report_with_map_is_self_contained(tmp_path: Path) -> None:
    emb = tiny_embeddings()
    emb.names["queen"] = EVIL
    out = make_report(
        emb, tmp_path / "r.html", request=ReportRequest(title="Tiny", map_options={"color_by": "frequency"})
    )
    text = out.read_text(encoding="utf-8")
    page = Page(text)
    assert "Map" in page.headings
    assert page.external == []  # plotly.js inlined: opens offline
    assert all("src" not in attrs for attrs in page.scripts)
    assert re.search(r"PCA of 8 of 8 items \(unit vectors\); popularity band", text)
    assert '"name":"top 10% (80 uses)"' in text
    assert EVIL not in text


def planted_csv(path: Path, users: range, seed: int) -> Path:
    """user, item, time: each user buys from one of three disjoint clusters, in order."""
    rng = random.Random(seed)
    lines = ["user_id,item_id,ts"]
    for u in users:
        cluster = u % 3
        lines += [f"u{u},{cluster}{rng.randrange(6):02d},{1_700_000_000 + u * 100 + s}" for s in range(6)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_cli_report_with_test_set_has_evaluation_against_baselines(tmp_path: Path) -> None:
    train = planted_csv(tmp_path / "train.csv", range(240), seed=0)
    test = planted_csv(tmp_path / "test.csv", range(240, 300), seed=1)
    model = tmp_path / "model"
    assert run("train", train, "-o", model, "--time-col", "ts", *FAST).exit_code == 0
    out = tmp_path / "report.html"
    result = run("report", model, "--test", test, "--ks", "5,10", "-o", out, "--no-map", "--popular", "2")
    assert result.exit_code == 0, result.output
    assert (
        result.stderr.endswith(f"wrote {out}\n")
        and "note: best on hr@5 (history protocol): " in result.stderr
    )
    text = out.read_text(encoding="utf-8")
    page = Page(text)
    assert page.headings[:3] == ["Model model", "Training summary", "Model"]
    assert "Evaluation" in page.headings
    section = Page(text[text.index('id="evaluation"') : text.index('id="neighbours"')])
    columns = section.cells[: section.cells.index("cold") + 1]
    assert columns[:7] == ["method", "protocol", "score", "seen", "cases", "hr@5", "ndcg@5"]
    assert "hr@10" in columns
    rows = [
        section.cells[i : i + len(columns)] for i in range(len(columns), len(section.cells), len(columns))
    ]
    rows = [r for r in rows if len(r) == len(columns) and r[1] == "last"]
    assert [r[0] for r in rows] == ["model"] * 3 + [
        "co-occurrence", "sequential-rules", "sknn", "v-sknn", "stan", "most-popular"
    ]  # fmt: skip
    assert [r[2] for r in rows[:3]] == ["hybrid (next, weight 4)", "similar", "next"]
    assert [r[4] for r in rows] == ["60"] * 9
    hr = {r[2] or r[0]: float(r[columns.index("hr@10")]) for r in rows}
    assert hr["similar"] > hr["most-popular"]  # planted clusters: the model knows what goes together


def test_cli_report_errors(tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run("report", tiny_model, "-o", tmp_path / "r.pdf")
    assert result.exit_code == 1
    assert result.output == f"Error: -o {str(tmp_path / 'r.pdf')!r}: a report is an .html file\n"
    monkeypatch.setitem(sys.modules, "plotly", None)
    result = run("report", tiny_model, "-o", tmp_path / "r.html", "--color-by", "none")
    assert result.exit_code == 1
    assert result.output == (
        "Error: the report's map needs plotly, which is not installed: pip install 'item2vec[plot]'\n"
    )
    assert not (tmp_path / "r.html").exists()
    result = run("report", tiny_model, "-o", tmp_path / "r.html", "--no-map", "--title", "T")
    assert result.exit_code == 0, result.output
    assert Page((tmp_path / "r.html").read_text()).headings[0] == "T"


def test_report_of_a_model_without_names(tmp_path: Path) -> None:
    emb = Embeddings(
        ids=["a", "b", "c"],
        vectors=np.eye(3, dtype=np.float32),
        counts=np.array([3, 2, 1], dtype=np.int64),
    )
    save(emb, tmp_path / "m")
    result = run(
        "report", tmp_path / "m", "-o", tmp_path / "r.html", "--color-by", "none", "--neighbours", "1"
    )
    assert result.exit_code == 0, result.output
    page = Page((tmp_path / "r.html").read_text())
    assert page.headings[-3:] == ["a (3 uses)", "b (2 uses)", "c (1 use)"]
    first = page.cells.index("rank")
    assert page.cells[first : first + 4] == ["rank", "item", "count", "score"]


def test_cli_report_notes_go_to_stderr_unless_quiet(tmp_path: Path, tiny_model: Path) -> None:
    test = tmp_path / "t.csv"
    test.write_text("user_id,item_id\nu1,apple\nu1,pear\nu2,king\nu2,queen\n")
    args = ["report", tiny_model, "--test", test, "--no-baselines", "--no-map", "-o", tmp_path / "r.html"]
    loud = run(*args)
    assert loud.exit_code == 0, loud.output
    assert "note: best on hr@10 (last protocol): " in loud.stderr
    quiet = run(*args, "--force", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_cli_report_ranks_with_the_score_modes_asked_for(tmp_path: Path, tiny_model: Path) -> None:
    test = tmp_path / "t.csv"
    test.write_text("user_id,item_id\nu1,apple\nu1,pear\nu2,king\nu2,queen\n")
    out = tmp_path / "r.html"
    args = ["report", tiny_model, "--test", test, "--no-baselines", "--no-map", "-o", out, "--force"]
    result = run(*args, "--score", "next")
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    section = Page(text[text.index('id="evaluation"') : text.index('id="neighbours"')])
    assert section.cells[section.cells.index("cold") + 1 : section.cells.index("cold") + 4] == [
        "model",
        "last",
        "next",
    ]
    (tiny_model / "transitions.npz").unlink()
    missing = run(*args, "--score", "hybrid")
    assert missing.exit_code == 1
    assert "Error: --score hybrid needs transitions (transitions.npz)" in missing.output
