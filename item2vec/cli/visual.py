"""Into other tools: plot, report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from item2vec.cli.base import (
    F,
    cli,
    cutoff_options,
    cutoffs,
    quiet_option,
    renamed,
    say,
    score_options,
)

# --- into other tools: plot, report ------------------------------------------------------------


def _map_options(func: F) -> F:
    """The options of the item map, shared by plot and report."""
    options = [
        click.option("--method", type=click.Choice(["pca", "tsne", "umap"]), default="pca", show_default=True,
                     help="2-D projection: PCA, t-SNE (scikit-learn) or UMAP (item2vec[umap])."),
        click.option("--color-by", default="cluster", show_default=True, metavar="cluster|frequency|none|COLUMN",
                     help="k-means clusters, count bands, one colour, or a COLUMN of --color-table."),
        click.option("--clusters", type=click.IntRange(2, 10), default=8, show_default=True,
                     help="Clusters for --color-by cluster."),
        renamed("--max-items", old="--sample", type=click.IntRange(0), default=5000, show_default=True,
                metavar="N", help="Map at most N items, drawn at random (0: all)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample and projection."),
        renamed("--color-table", old="--items", type=click.Path(dir_okay=False), metavar="FILE",
                help="Item table holding the --color-by COLUMN."),
        click.option("--id-col", help="Id column in --color-table (default: the model's --item-col)."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def _map_kwargs(opts: dict[str, Any]) -> dict[str, Any]:
    keys = ("method", "color_by", "clusters", "seed", "id_col")
    return {
        **{k: opts[k] for k in keys},
        "items_file": opts["color_table"],
        "sample": opts["max_items"] or None,
    }


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="map.html (interactive, names on hover) or map.png, .svg, .pdf.")  # fmt: skip
@_map_options
@click.option("--labels", type=click.IntRange(0), default=25, show_default=True,
              help="Images: name up to N popular items (overlapping names are left out).")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
@quiet_option
def plot(model: Path, output: Path, labels: int, force: bool, **opts: Any) -> None:
    """Draw a 2-D map of the items, coloured by cluster, popularity or a column.

    Needs the plot extra: pip install 'item2vec[plot]' (UMAP: 'item2vec[umap]').

    \b
    item2vec plot model -o map.html
    item2vec plot model -o map.png --method tsne --color-by frequency
    item2vec plot model -o map.png --color-table catalogue.csv --id-col sku --color-by category
    """
    from item2vec.model.store import load
    from item2vec.visual.plot import plot as draw

    path, points = draw(load(model), output, force=force, labels=labels, **_map_kwargs(opts))
    say(f"wrote {path} ({len(points.ids):,} of {points.total:,} items)")


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="report.html to write.")
@click.option("--test", "tests", multiple=True, metavar="TEST",
              help="Held-out sequences (split's test file): adds next-item metrics vs baselines.")  # fmt: skip
@click.option("--train", "train_files", multiple=True, metavar="FILE",
              help="The model's training data, for the baselines (default: the inputs in model.json).")  # fmt: skip
@click.option("--baselines/--no-baselines", default=True, show_default=True,
              help="Score most-popular, co-occurrence and sequential rules beside the model.")  # fmt: skip
@cutoff_options
@click.option("--popular", type=click.IntRange(0), default=8, show_default=True,
              help="Show the neighbours of the N most frequent items.")  # fmt: skip
@click.option("--neighbours", type=click.IntRange(1, 100), default=8, show_default=True,
              help="Neighbours per popular item.")  # fmt: skip
@click.option("--map/--no-map", "with_map", default=True, show_default=True, help="Include the item map.")
@_map_options
@click.option("--title", help="Page title (default: the model directory's name).")
@score_options("With --test: rank with this score mode (repeatable; default: every mode the model has).",
               multiple=True)  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
@quiet_option
def report(model: Path, output: Path, tests: tuple[str, ...], train_files: tuple[str, ...], baselines: bool,
           k: tuple[tuple[int, ...], ...], ks: str | None, popular: int, neighbours: int, with_map: bool,
           title: str | None, force: bool, score: tuple[str, ...], hybrid_weight: float | None,
           hybrid_base: str | None, **opts: Any) -> None:  # fmt: skip
    """Write one self-contained HTML page about a model.

    The training summary, next-item metrics against baselines (with --test), an interactive
    map of the items, and the neighbours of the most popular items with their names. The page
    inlines everything (plotly.js included) and opens offline. The map needs the plot extra.

    \b
    item2vec report model -o report.html
    item2vec report model --test split/test.csv.gz --ks 10,20 -o report.html
    """
    from item2vec.model.store import load
    from item2vec.query.scoring import ScoreRequest, open_parts
    from item2vec.visual.html_report import ReportRequest, make_report

    embeddings = load(model)
    scoring = ScoreRequest(open_parts(embeddings, model), score, hybrid_weight, hybrid_base)
    request = ReportRequest(
        title=title or f"Model {model.resolve().name}", tests=tests, train_files=train_files,
        baselines=baselines, ks=cutoffs(k, ks), popular=popular, neighbours=neighbours,
        map_options=_map_kwargs(opts) if with_map else None, scoring=scoring,
    )  # fmt: skip
    path = make_report(
        embeddings,
        output,
        request=request,
        force=force,
        on_note=lambda note: say(f"note: {note}"),
    )
    say(f"wrote {path}")
