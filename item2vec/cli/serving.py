"""Serving a model's questions fast: build its index (index), answer over HTTP (serve)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from item2vec.cli.base import cli, is_quiet, output_format, quiet_option, renamed, say
from item2vec.render import render_record


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
@renamed(
    "--queries", old="--sample", type=click.IntRange(1), default=1000, show_default=True, metavar="N",
    help="Sampled items queried by --check.",
)  # fmt: skip
@output_format
@quiet_option
def index_command(model: Path, check: bool, queries: int, fmt: str, **params: Any) -> None:
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

    if (
        not check
        and click.get_current_context().get_parameter_source("queries") is ParameterSource.COMMANDLINE
    ):
        raise click.UsageError("--queries applies to --check: add --check")
    say(f"building a {params['kind']} index of {model}")
    report = build_and_store(model, IndexParams(**params), check=queries if check else 0)
    click.echo(render_record(report, fmt), nl=False)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (0.0.0.0: all).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="TCP port (0: any free one).")  # fmt: skip
@renamed("--processes", old="--workers", type=click.IntRange(1), default=1, show_default=True, metavar="N",
         help="Server processes; each maps the same model files.")  # fmt: skip
@click.option("--approx", is_flag=True, help="Answer from the index built by 'item2vec index'.")
@click.option("--items", "items_file", type=click.Path(dir_okay=False),
              help="A table of item attributes (CSV/TSV/Parquet/JSONL) whose columns 'where' may filter on.")  # fmt: skip
@click.option("--id-col", default="id", show_default=True, help="The id column of --items.")
@quiet_option
def serve(model: Path, host: str, port: int, processes: int, approx: bool, items_file: str | None,
          id_col: str) -> None:  # fmt: skip
    """Serve similar items, analogies and recommendations over HTTP.

    GET /similar?item=ID&k=10, GET /analogy?positive=A&negative=B, POST /recommend with
    {"history": [...]}, GET /items/ID, GET /health; OpenAPI docs at /docs. /similar and
    /recommend take score=similar|next|hybrid (as --score; hybrid_weight, hybrid_base) and the
    candidate filters exclude, only and where (as --exclude, --only, --item-where; repeat the
    parameter for several; where reads id, name, count and the columns of --items). The model is memory-mapped and never written. The model is checked and the port bound before
    anything is served; Ctrl-C stops it (exit 130). Needs the serve extra: pip install 'item2vec[serve]'.

    \b
    item2vec serve model --port 8000
    curl 'http://127.0.0.1:8000/similar?item=85123A&k=5&score=next'
    curl -G http://127.0.0.1:8000/similar -d item=85123A -d exclude=23321 --data-urlencode 'where=count>=200'
    """
    from item2vec.query.server_run import serve as run

    def ready(url: str) -> None:
        say(f"serving {model} at {url} (docs: /docs); Ctrl-C stops")

    run(model, host=host, port=port, processes=processes, approx=approx, items=items_file, id_col=id_col,
        quiet=is_quiet(), ready=ready)  # fmt: skip
