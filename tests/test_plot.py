"""The item map: projection, colours, labels; HTML and images checked by structure, not pixels."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli
from item2vec.errors import EmptyResultError, InputError, MissingDependencyError
from item2vec.model.embeddings import Embeddings
from item2vec.model.store import save
from item2vec.visual.itemmap import (
    column_groups,
    frequency_groups,
    item_map,
    label_order,
    project,
    sample_rows,
)
from item2vec.visual.plot import map_figure, map_html, plot
from tests.conftest import TINY_VECTORS, tiny_embeddings

EVIL = "<script>alert(1)</script> & co"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def planted(clusters: int = 3, per: int = 40, dim: int = 16, seed: int = 0) -> Embeddings:
    """Items around ``clusters`` orthogonal directions; names say which cluster (colour word)."""
    rng = np.random.default_rng(seed)
    colours = ["red", "green", "blue", "amber", "violet"]
    ids, vectors, names = [], [], {}
    for c in range(clusters):
        for n in range(per):
            item = f"{c}{n:03d}"
            ids.append(item)
            vectors.append(np.eye(dim)[c] * 3 + rng.normal(0, 0.3, dim))
            names[item] = f"{colours[c].upper()} thing number {n}"
    counts = rng.integers(1, 1000, len(ids))
    return Embeddings(ids, np.array(vectors, dtype=np.float32), counts.astype(np.int64), names=names)


# projection and colours ----------------------------------------------------------------------------


def test_pca_separates_planted_clusters_and_reports_variance() -> None:
    emb = planted()
    vectors = emb.vectors / np.linalg.norm(emb.vectors, axis=1, keepdims=True)
    xy, axes = project(vectors, "pca", 0)
    assert xy.shape == (120, 2)
    assert np.allclose(xy.mean(axis=0), 0, atol=1e-5)
    assert xy[:, 0].var() >= xy[:, 1].var()
    assert re.fullmatch(r"PC1 \(\d+% of variance\)", axes[0])
    centres = np.array([xy[c * 40 : (c + 1) * 40].mean(axis=0) for c in range(3)])
    spread = max(float(xy[c * 40 : (c + 1) * 40].std(axis=0).max()) for c in range(3))
    gaps = [np.linalg.norm(centres[a] - centres[b]) for a in range(3) for b in range(a + 1, 3)]
    assert min(gaps) > 3 * spread


@pytest.mark.slow
def test_cluster_colours_are_pure_and_named_by_name_words() -> None:
    points = item_map(planted(), clusters=3, labels=5)
    assert len(points.legend) == 3
    for c, colour in enumerate(["red", "green", "blue"]):
        groups = {points.groups[i] for i, item in enumerate(points.ids) if item.startswith(str(c))}
        assert len(groups) == 1
        (label,) = groups
        assert re.fullmatch(rf"\d: {colour}[^(]* \(40\)", label), label
    assert points.title == "Item map: 120 items, PCA"


def test_frequency_bands_exact() -> None:
    groups, legend = frequency_groups([80, 70, 60, 50, 40, 30, 20, 10])
    assert legend == [
        "top 10% (80 uses)",
        "10-25% (70 uses)",
        "25-50% (50-60 uses)",
        "bottom 50% (10-40 uses)",
    ]
    assert groups == [legend[0], legend[1], legend[2], legend[2], legend[3], legend[3], legend[3], legend[3]]


def test_column_groups_keep_common_values_and_mark_the_rest() -> None:
    ids = [f"i{n}" for n in range(15)]
    column = {f"i{n}": f"v{n}" for n in range(13)} | {"i0": "big", "i1": "big", "i2": "big"}
    groups, legend = column_groups(ids, [1] * 15, column)  # 11 values: 9 keep a colour
    assert legend == [
        "big (3)",
        *[f"v{n} (1)" for n in (10, 11, 12, 3, 4, 5, 6, 7)],
        "other (2)",
        "(not in table) (2)",
    ]
    assert groups[8:] == [
        "other (2)",
        "other (2)",
        "v10 (1)",
        "v11 (1)",
        "v12 (1)",
        "(not in table) (2)",
        "(not in table) (2)",
    ]


def test_label_order_interleaves_groups_by_count() -> None:
    groups = ["a", "a", "a", "b", "b", "c"]
    counts = [90, 80, 70, 60, 5, 1]
    assert label_order(groups, counts, interleave=True) == [0, 3, 5, 1, 4, 2]
    assert label_order(groups, counts, interleave=False) == [0, 1, 2, 3, 4, 5]


def test_sample_is_seeded_and_sorted() -> None:
    rows = sample_rows(1000, 50, seed=3)
    assert rows == sorted(rows) and len(set(rows)) == 50
    assert rows == sample_rows(1000, 50, seed=3) != sample_rows(1000, 50, seed=4)
    assert sample_rows(10, 50, seed=0) == list(range(10))
    points = item_map(planted(), sample=30, color_by="none")
    assert len(points.ids) == 30
    assert points.title == "Item map: 30 items (sample of 120), PCA"


@pytest.mark.slow
def test_tsne_runs_on_a_tiny_model() -> None:
    points = item_map(tiny_embeddings(), method="tsne", color_by="frequency")
    assert points.xy.shape == (8, 2)
    assert points.axes == ("t-SNE 1", "t-SNE 2")


def test_map_errors() -> None:
    with pytest.raises(InputError, match="--method 'mds' is unknown: use one of pca, tsne, umap") as unknown:
        item_map(tiny_embeddings(), method="mds")
    assert (unknown.value.param, unknown.value.value) == ("method", "mds")
    with pytest.raises(InputError) as info:
        item_map(tiny_embeddings(), color_by="Category")
    assert str(info.value) == (
        "--color-by 'Category' is not one of cluster, frequency, none: "
        "to colour by a column, give --color-table FILE with that column"
    )
    assert (info.value.param, info.value.value) == ("color_by", "Category")
    small = tiny_embeddings()
    small.ids, small.vectors, small.counts = small.ids[:2], small.vectors[:2], small.counts[:2]
    with pytest.raises(EmptyResultError, match="the model has 2 items: a map needs at least 3"):
        item_map(small)


@pytest.mark.parametrize(
    ("module", "call", "message"),
    [
        ("umap", {"method": "umap"}, "--method umap needs umap-learn, which is not installed: pip install 'item2vec[umap]'"),
        ("sklearn", {"method": "tsne"}, "--method tsne needs scikit-learn, which is not installed: pip install 'item2vec[plot]'"),
        ("sklearn", {}, "--color-by cluster needs scikit-learn, which is not installed: pip install 'item2vec[plot]'"),
    ],
)  # fmt: skip
def test_missing_extra_is_named(
    monkeypatch: pytest.MonkeyPatch, module: str, call: dict[str, str], message: str
) -> None:
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError) as info:
        item_map(tiny_embeddings(), **call)  # type: ignore[arg-type]
    assert str(info.value) == message


# drawing -------------------------------------------------------------------------------------------


def plotly_traces(page: str) -> list[dict[str, object]]:
    """The data array of the page's Plotly.newPlot call."""
    start = page.index("Plotly.newPlot(")
    data = page[page.index("[", start) :]
    traces, _ = json.JSONDecoder().raw_decode(data)
    return traces  # type: ignore[no-any-return]


def test_html_has_one_trace_per_legend_entry_with_names_on_hover() -> None:
    emb = tiny_embeddings()
    emb.names["queen"] = EVIL
    points = item_map(emb, color_by="frequency")
    page = map_html(points)
    assert page.startswith("<!doctype html>") and "<script src=" not in page  # plotly.js is inlined
    assert "<title>Item map: 8 items, PCA</title>" in page
    traces = plotly_traces(page)
    assert [t["name"] for t in traces] == points.legend
    hover = [text for t in traces for text in t["text"]]  # type: ignore[attr-defined]
    assert len(hover) == 8
    assert "<b>Red Apple</b><br>id apple<br>count 30<br>bottom 50% (10-40 uses)" in hover
    assert any("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in h for h in hover)
    assert EVIL not in page


@pytest.mark.slow
def test_png_figure_has_legend_title_and_non_overlapping_labels() -> None:
    emb = planted(per=60)
    points = item_map(emb, clusters=3, labels=40)
    figure = map_figure(points)
    axes = figure.axes[0]
    assert axes.get_title(loc="left") == "Item map: 180 items, PCA"
    assert axes.get_xlabel().startswith("PC1 (")
    legend = axes.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == points.legend
    assert legend.get_title().get_text() == "k-means cluster: commonest name words (items)"
    (note,) = [t for t in axes.texts if t.get_gid() == "caption"]
    assert note.get_text().startswith(
        "Point size: training count.\nLabels: the most frequent items of each colour;"
    )
    texts = [t for t in axes.texts if t.get_gid() == "label"]
    assert 5 <= len(texts) <= 40
    renderer = figure.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    assert not any(a.overlaps(b) for n, a in enumerate(boxes) for b in boxes[n + 1 :])
    inside = axes.get_window_extent(renderer)
    assert all(inside.contains(b.x0, b.y0) and inside.contains(b.x1, b.y1) for b in boxes)
    names = {t.get_text() for t in texts}
    most = max(range(len(points.ids)), key=lambda i: points.counts[i])
    assert points.names[most] in names  # the most frequent item is always named
    shown = {points.groups[points.names.index(n)] for n in names}
    assert shown == set(points.legend)  # labels spread over every cluster


def test_long_and_duplicate_names_are_shortened_and_told_apart() -> None:
    emb = tiny_embeddings()
    emb.names.update({"king": "A" * 50, "queen": "Same", "man": "Same"})
    figure = map_figure(item_map(emb, color_by="none", labels=8))
    texts = {t.get_text() for t in figure.axes[0].texts if t.get_gid() == "label"}
    assert "A" * 29 + "…" in texts
    assert "Same" in texts and "Same [man]" in texts
    assert figure.axes[0].get_legend() is None  # one colour: no legend


@pytest.mark.slow
def test_plot_writes_png_svg_and_html(tmp_path: Path) -> None:
    emb = tiny_embeddings()
    for name, magic in [("m.png", b"\x89PNG"), ("m.svg", b"<?xml"), ("m.html", b"<!doctype html>")]:
        path, points = plot(emb, tmp_path / name, color_by="frequency")
        assert path.read_bytes().startswith(magic)
        assert len(points.ids) == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.html", "m.png", "m.svg"]


def test_plot_colours_by_a_column_of_an_items_table(tmp_path: Path) -> None:
    table = tmp_path / "items.csv"
    table.write_text("sku,kind\nking,royal\nqueen,royal\napple,fruit\npear,fruit\nplum,fruit\n")
    points = item_map(tiny_embeddings(), color_by="kind", items_file=str(table), id_col="sku")
    assert points.legend == ["fruit (3)", "royal (2)", "(not in table) (3)"]
    with pytest.raises(InputError, match="--color-table is used only with --color-by COLUMN") as caught:
        item_map(tiny_embeddings(), color_by="cluster", items_file=str(table), id_col="sku")
    assert caught.value.param == "color_table"
    assert str(caught.value).endswith("not with --color-by cluster")
    with pytest.raises(InputError, match="'colour'"):
        item_map(tiny_embeddings(), color_by="colour", items_file=str(table), id_col="sku")


# CLI -----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_plot(tmp_path: Path, tiny_model: Path) -> None:
    out = tmp_path / "map.png"
    result = run("plot", tiny_model, "-o", out, "--color-by", "frequency", "--max-items", "5")
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {out} (5 of 8 items)\n"
    assert out.read_bytes()[:4] == b"\x89PNG"
    result = run("plot", tiny_model, "-o", out)
    assert result.exit_code == 1
    assert result.output == f"Error: {str(out)!r} already exists: use --force to overwrite it\n"
    assert run("plot", tiny_model, "-o", out, "--force", "--method", "pca").exit_code == 0


def test_cli_plot_errors(tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run("plot", tiny_model, "-o", tmp_path / "map.jpg")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: -o {str(tmp_path / 'map.jpg')!r}: give a .html (interactive) or .png, .svg or .pdf file name\n"
    )
    monkeypatch.setitem(sys.modules, "plotly", None)
    result = run("plot", tiny_model, "-o", tmp_path / "map.html")
    assert result.exit_code == 1
    assert result.output == (
        "Error: writing .html needs plotly, which is not installed: pip install 'item2vec[plot]'\n"
    )
    assert list(tmp_path.iterdir()) == [tiny_model]


def test_cli_plot_names_with_markup_are_escaped(tmp_path: Path) -> None:
    emb = Embeddings(
        ids=list(TINY_VECTORS),
        vectors=np.array(list(TINY_VECTORS.values()), dtype=np.float32),
        counts=np.arange(8, 0, -1, dtype=np.int64),
        names={"king": EVIL},
    )
    save(emb, tmp_path / "m")
    result = run("plot", tmp_path / "m", "-o", tmp_path / "m.html", "--color-by", "none")
    assert result.exit_code == 0, result.output
    assert EVIL not in (tmp_path / "m.html").read_text(encoding="utf-8")
