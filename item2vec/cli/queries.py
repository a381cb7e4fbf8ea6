"""Questions asked of a model: similar, analogy, info, export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from item2vec.export import EXPORT_FORMATS
from item2vec.render import render, render_record

if TYPE_CHECKING:
    pass

from item2vec.cli.base import _approx, _read_items, _similar_all, cli, output_format, top_k


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
@output_format
def similar(model: Path, items: tuple[str, ...], k: int, combine: bool, titles: tuple[str, ...],
            skip_unknown: bool, approx: bool, all_items: bool, output: Path | None, force: bool,
            fmt: str) -> None:  # fmt: skip
    """Find the items most similar to ITEM (cosine), with their names.

    Give several items for one block each, or '-' to read ids from stdin (one a line).
    --all writes the item-to-item table (query, rank, item, score) in batches.

    \b
    item2vec similar model 85123A -k 5
    item2vec similar model --title "hanging heart"
    cut -f1 ids.txt | item2vec similar model - -f jsonl
    item2vec similar model --all -k 50 -o neighbours.parquet
    """
    from item2vec.store import load

    if all_items:
        return _similar_all(model, k, approx=approx, output=output, force=force, extra=bool(items or titles))
    if not items and not titles:
        raise click.UsageError("give ITEM ids, '-' to read them from stdin, or --title TEXT")
    embeddings = _approx(load(model), model, approx)
    query, notes = embeddings.resolve(_read_items(items), titles, skip_unknown=skip_unknown)
    for note in notes:
        click.echo(note, err=True)
    rows = [n.as_row(bool(embeddings.names)) for n in embeddings.similar(query, k, combine=combine)]
    click.echo(render(rows, fmt, group="query"), nl=False)


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
    from item2vec.embeddings import parse_analogy
    from item2vec.store import load

    if expression and (positive or negative):
        raise click.UsageError("give either EXPRESSION or --positive/--negative, not both")
    if not expression and not positive:
        raise click.UsageError("give an EXPRESSION such as 'king - man + woman', or --positive items")
    pos, neg = parse_analogy(expression) if expression else (list(positive), list(negative))
    embeddings = _approx(load(model), model, approx)
    label = " ".join(expression.split()) if expression else None
    answer = embeddings.analogy(pos, neg, k, method=method, label=label)  # type: ignore[arg-type]
    rows = [n.as_row(bool(embeddings.names)) for n in answer]
    click.echo(render(rows, fmt, group="query"), nl=False)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@output_format
def info(model: Path, fmt: str) -> None:
    """Show a model's size, parameters, input statistics and training time.

    \b
    item2vec info model
    item2vec info model -f json | jq .params
    """
    from item2vec.report import info_record
    from item2vec.store import load

    click.echo(render_record(info_record(load(model)), fmt), nl=False)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "-f", "--format", "fmt", type=click.Choice(EXPORT_FORMATS), required=True, help="Export format."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="File (or directory for projector).",
)
@click.option(
    "--items",
    "items_file",
    type=click.File("r", encoding="utf-8"),
    metavar="FILE",
    help="Export only these ids, in this order (one a line; '-' for stdin).",
)
@click.option("--normalize", is_flag=True, help="Scale every vector to unit length.")
@click.option(
    "--dtype",
    type=click.Choice(["float32", "float16"]),
    default="float32",
    show_default=True,
    help="Value type (float16: half the size; not for word2vec-binary).",
)
@click.option("--no-padding", is_flag=True, help="torch/safetensors: no all-zero padding row 0.")
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
def export(model: Path, fmt: str, output: Path, items_file: TextIO | None, normalize: bool, dtype: str,
           no_padding: bool, force: bool) -> None:  # fmt: skip
    """Write the vectors for other tools.

    word2vec and word2vec-binary are read by gensim's load_word2vec_format and the C tools;
    npy writes OUTPUT plus OUTPUT.ids.txt; parquet has id, vector, count (and name);
    projector writes a directory of TensorBoard projector vectors.tsv and metadata.tsv;
    torch (torch.save) and safetensors (no torch needed) write an embedding table, 'weight',
    whose row 0 is all zeros for padding_idx=0, and 'ids', the item of every row.

    \b
    item2vec export model -f word2vec -o vectors.txt
    item2vec export model -f projector -o projector/
    item2vec export model -f torch -o items.pt --normalize
    item2vec export model -f safetensors -o items.safetensors --items ids.txt --dtype float16
    """
    from item2vec.export import export as write
    from item2vec.store import load

    items = [line.strip() for line in items_file if line.strip()] if items_file else None
    written = write(load(model), fmt, output, force=force, items=items, normalize=normalize, dtype=dtype,
                    padding=not no_padding)  # fmt: skip
    for path in written:
        click.echo(f"wrote {path}", err=True)
