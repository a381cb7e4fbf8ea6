"""Questions to a model: similar, analogy, recommend, index, serve."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    pass
from typing import TYPE_CHECKING

from item2vec.model.modes import RECOMMEND_SCORE
from item2vec.render import render, render_record

if TYPE_CHECKING:
    from item2vec.model.embeddings import Embeddings
    from item2vec.query.scoring import Scorer
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

from item2vec.cli.base import approx_index, cli, output_format, read_items, score_options, top_k

SCORE_HELP = (
    "similar: items alike (cosine of input vectors); next: what follows or goes with it (input · "
    "output vectors); hybrid: an embedding score plus the model's transition counts."
)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("items", nargs=-1)
@top_k
@click.option("--combine", is_flag=True, help="Neighbours of the mean of all query items.")
@click.option(
    "--title", "titles", multiple=True, help="Find the query item by name (substring, case-insensitive)."
)
@click.option("--skip-unknown", is_flag=True, help="Warn about unknown items and answer the rest.")
@click.option(
    "--approx", is_flag=True, help="Search the index built by 'item2vec index' (fast, approximate)."
)
@click.option("--all", "all_items", is_flag=True, help="Every item's neighbours, as a table written to -o.")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="With --all: .parquet, .csv or .tsv file."
)
@click.option("--force", is_flag=True, help="With --all: overwrite an existing -o file.")
@score_options(SCORE_HELP, default="similar")
@output_format
def similar(model: Path, items: tuple[str, ...], k: int, combine: bool, titles: tuple[str, ...],
            skip_unknown: bool, approx: bool, all_items: bool, output: Path | None, force: bool,
            fmt: str, **scoring: Any) -> None:  # fmt: skip
    """Find the items most similar to ITEM (cosine), with their names.

    Give several items for one block each, or '-' to read ids from stdin (one a line).
    --all writes the item-to-item table (query, rank, item, score) in batches. --score next
    ranks what follows ITEM instead; hybrid adds the counted transitions (its scores are
    standardised, not cosines).

    \b
    item2vec similar model 85123A -k 5
    item2vec similar model --title "hanging heart"
    item2vec similar model 85123A --score next
    cut -f1 ids.txt | item2vec similar model - -f jsonl
    item2vec similar model --all -k 50 -o neighbours.parquet
    """
    from item2vec.model.store import load

    if all_items:
        return _similar_all(model, k, approx=approx, output=output, force=force, extra=bool(items or titles),
                            scoring=scoring)  # fmt: skip
    if not items and not titles:
        raise click.UsageError("give ITEM ids, '-' to read them from stdin, or --title TEXT")
    embeddings = approx_index(load(model), model, approx)
    scorer = _scorer(embeddings, model, approx, scoring)
    query, notes = embeddings.resolve(read_items(items), titles, skip_unknown=skip_unknown)
    for note in notes:
        click.echo(note, err=True)
    rows = [n.as_row(bool(embeddings.names)) for n in scorer.similar(query, k, combine=combine)]
    click.echo(render(rows, fmt, group="query"), nl=False)


def _scorer(embeddings: Embeddings, model: Path, approx: bool, scoring: dict[str, Any]) -> Scorer:
    """The scorer that --score, --hybrid-weight and --hybrid-base ask for."""
    from item2vec.query.scoring import make_scorer, open_parts

    return make_scorer(open_parts(embeddings, model, approx=approx), scoring["score"],
                       hybrid_weight=scoring["hybrid_weight"], hybrid_base=scoring["hybrid_base"])  # fmt: skip


def _similar_all(model: Path, k: int, *, approx: bool, output: Path | None, force: bool, extra: bool,
                 scoring: dict[str, Any]) -> None:  # fmt: skip
    from item2vec.model.store import load
    from item2vec.query.recommend import neighbour_table

    if extra or output is None:
        raise click.UsageError("--all takes no ITEM or --title, and needs -o FILE (.parquet, .csv or .tsv)")
    embeddings = approx_index(load(model), model, approx)
    scorer = _scorer(embeddings, model, approx, scoring)
    summary = neighbour_table(embeddings, output, k=k, force=force, scorer=scorer)
    click.echo(summary.line("items"), err=True)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("expression", required=False)
@click.option("-p", "--positive", multiple=True, help="Item to add (repeatable).")
@click.option("-n", "--negative", multiple=True, help="Item to subtract (repeatable).")
@click.option(
    "--method",
    type=click.Choice(["add", "mul"]),
    default="add",
    show_default=True,
    help="3CosAdd or 3CosMul (Levy & Goldberg 2014).",
)
@top_k
@click.option("--approx", is_flag=True, help="Search the index built by 'item2vec index' (--method add).")
@output_format
def analogy(model: Path, expression: str | None, positive: tuple[str, ...], negative: tuple[str, ...],
            method: str, k: int, approx: bool, fmt: str) -> None:  # fmt: skip
    """Answer A - B + C: the items closest to the combination, inputs excluded.

    \b
    item2vec analogy text-model "king - man + woman" -k 3
    item2vec analogy text-model -p king -p woman -n man --method mul
    """
    from item2vec.model.embeddings import parse_analogy
    from item2vec.model.store import load

    if expression and (positive or negative):
        raise click.UsageError("give either EXPRESSION or --positive/--negative, not both")
    if not expression and not positive:
        raise click.UsageError("give an EXPRESSION such as 'king - man + woman', or --positive items")
    pos, neg = parse_analogy(expression) if expression else (list(positive), list(negative))
    embeddings = approx_index(load(model), model, approx)
    label = " ".join(expression.split()) if expression else None
    answer = embeddings.analogy(pos, neg, k, method=method, label=label)  # type: ignore[arg-type]
    rows = [n.as_row(bool(embeddings.names)) for n in answer]
    click.echo(render(rows, fmt, group="query"), nl=False)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("items", nargs=-1, metavar="[ITEM]...")
@click.option("--history", multiple=True, metavar="ITEM",
              help="The user's items, oldest first: --history A B C ('-' reads stdin, one a line).")  # fmt: skip
@click.option("--events", multiple=True, metavar="FILE",
              help="Event log: candidates for every user in it, written to -o.")  # fmt: skip
@click.option("--decay", type=click.FloatRange(0, 1, min_open=True), default=0.7, show_default=True,
              help="Weight per step back in the history (1: plain mean).")  # fmt: skip
@click.option("--history-size", type=click.IntRange(1), default=5, show_default=True,
              help="Use the last N known items of a history.")  # fmt: skip
@click.option("--keep-seen", is_flag=True, help="Also recommend items the user has already seen.")
@top_k
@click.option(
    "--approx", is_flag=True, help="Search the index built by 'item2vec index' (fast, approximate)."
)
@click.option("--user-col", default="user_id", show_default=True, help="--events: column of user ids.")
@click.option("--item-col", help="--events: column of item ids (default: as the model was trained).")
@click.option(
    "--time-col", help="--events: column of times (default: as the model was trained; else file order)."
)
@click.option(
    "--input-format",
    type=click.Choice(["csv", "tsv", "parquet", "jsonl"]),
    help="--events: override format detection.",
)
@click.option(
    "--where", multiple=True, metavar="COL=VALUE", help="--events: keep rows where COL=VALUE (or COL!=VALUE)."
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="--events: .parquet, .csv or .tsv file to write."
)
@click.option("--force", is_flag=True, help="Overwrite an existing -o file.")
@score_options(SCORE_HELP[:-1] + f" (default: the model's, else {RECOMMEND_SCORE}).")
@output_format
def recommend(model: Path, items: tuple[str, ...], history: tuple[str, ...], events: tuple[str, ...], decay: float,
              history_size: int, keep_seen: bool, k: int, approx: bool, output: Path | None, force: bool,
              fmt: str, score: str | None, hybrid_weight: float | None, hybrid_base: str | None,
              **cols: Any) -> None:  # fmt: skip
    """Recommend items from a history: the decayed mean of the user's recent items.

    Items already in the history are left out unless --keep-seen. With --events, every user of
    an event log gets k candidates, written as a table (user, rank, item, score) in batches.
    --score picks how candidates are scored (docs/retrieval.md); hybrid, the default, sums the
    history's transitions with the same decay, and its scores are standardised, not cosines.

    \b
    item2vec recommend model --history 22423 85123A 47566 -k 5
    item2vec recommend model --history 22423 85123A --score next
    item2vec recommend model --events events.csv --user-col CustomerID -k 100 -o candidates.parquet
    """
    from item2vec.model.store import load
    from item2vec.query.recommend import event_columns, recommend_events
    from item2vec.query.recommend import recommend as from_history

    if events and (history or items or output is None):
        raise click.UsageError(
            "--events takes no ITEM or --history, and needs -o FILE (.parquet, .csv or .tsv)"
        )
    if not events and not history and not items:
        raise click.UsageError("give the history: --history ITEM... ('-' reads stdin), or --events FILE")
    embeddings = approx_index(load(model), model, approx)
    scorer = _scorer(embeddings, model, approx, {"score": score, "hybrid_weight": hybrid_weight,
                                                  "hybrid_base": hybrid_base})  # fmt: skip
    if events:
        input_format = cols.pop("input_format")
        columns = event_columns(embeddings.meta, where=tuple(cols.pop("where")), **cols)
        summary = recommend_events(embeddings, list(events), output, columns=columns, k=k, decay=decay,  # type: ignore[arg-type]
                                   history_size=history_size, keep_seen=keep_seen, input_format=input_format,
                                   force=force, scorer=scorer)  # fmt: skip
        return click.echo(summary.line("users"), err=True)
    found = from_history(embeddings, read_items(history + items), k, decay=decay, history_size=history_size,
                         keep_seen=keep_seen, scorer=scorer)  # fmt: skip
    for note in found.notes:
        click.echo(note, err=True)
    rows = [n.as_row(bool(embeddings.names)) for n in found.neighbours]
    click.echo(render(rows, fmt, columns=[c for c in rows[0] if c != "query"] if rows else None), nl=False)


@cli.command("index")
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(["flat", "hnsw", "lsh", "ivfpq"]),
    default="hnsw",
    show_default=True,
    help="flat: exact; hnsw: graph; lsh: random-hyperplane bits; ivfpq: inverted lists of PQ codes.",
)
@click.option(
    "--hnsw-m", type=click.IntRange(2, 256), default=32, show_default=True, help="HNSW links per item."
)
@click.option(
    "--ef-construction",
    type=click.IntRange(1),
    default=80,
    show_default=True,
    help="HNSW build-time search width.",
)
@click.option(
    "--ef-search",
    type=click.IntRange(1),
    default=64,
    show_default=True,
    help="HNSW query-time search width (recall vs speed).",
)
@click.option("--bits", type=click.IntRange(1), help="LSH bits per item (default: 4 x dim).")
@click.option("--lists", type=click.IntRange(1), help="IVF lists (default: about 4 x sqrt(items)).")
@click.option(
    "--probes", type=click.IntRange(1), default=16, show_default=True, help="IVF lists searched per query."
)
@click.option(
    "--pq-m", type=click.IntRange(1), help="PQ bytes per item; divides dim (default: about dim / 4)."
)
@click.option(
    "--rerank",
    type=click.IntRange(1),
    help="Re-score k x N candidates exactly (default: 1; 10 for lsh and ivfpq).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the training sample.")
@click.option(
    "--check",
    "check",
    is_flag=True,
    help="Report recall@10 against exact search and query latency on sampled items.",
)
@click.option(
    "--sample", type=click.IntRange(1), default=1000, show_default=True, help="Queries for --check."
)
@output_format
def index_command(model: Path, check: bool, sample: int, fmt: str, **params: Any) -> None:
    """Build a Faiss index over the vectors, for fast approximate search (--approx).

    The index and its parameters are stored in the model directory (index.faiss, index.json),
    replacing any earlier one. Answers from it are re-scored exactly, so the scores are true
    cosines. Needs the ann extra: pip install 'item2vec[ann]'.

    \b
    item2vec index model --kind hnsw --check
    item2vec index model --kind ivfpq --lists 1024 --probes 32
    item2vec similar model 85123A --approx
    """
    from item2vec.query.index import IndexParams
    from item2vec.query.index_check import build_and_store

    click.echo(f"building a {params['kind']} index of {model}", err=True)
    report = build_and_store(model, IndexParams(**params), check=sample if check else 0)
    click.echo(render_record(report, fmt), nl=False)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (0.0.0.0: all).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="TCP port.")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="Worker processes; each maps the same model files.")  # fmt: skip
@click.option("--approx", is_flag=True, help="Answer from the index built by 'item2vec index'.")
def serve(model: Path, host: str, port: int, workers: int, approx: bool) -> None:
    """Serve similar items, analogies and recommendations over HTTP.

    GET /similar?item=ID&k=10, GET /analogy?positive=A&negative=B, POST /recommend with
    {"history": [...]}, GET /items/ID, GET /health; OpenAPI docs at /docs. /similar and
    /recommend take score=similar|next|hybrid (as --score; hybrid_weight, hybrid_base). The
    model is memory-mapped and never written. Needs the serve extra: pip install 'item2vec[serve]'.

    \b
    item2vec serve model --port 8000
    curl 'http://127.0.0.1:8000/similar?item=85123A&k=5&score=next'
    """
    from item2vec.query.server import serve as run

    click.echo(f"serving {model} at http://{host}:{port} (docs: /docs); Ctrl-C stops", err=True)
    run(model, host=host, port=port, workers=workers, approx=approx)
