"""Vectors into other tools: export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import click

from item2vec.cli.base import cli, quiet_option, renamed, say
from item2vec.errors import InputError
from item2vec.export.formats import EXPORT_FORMATS, STREAM_FORMATS


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
    help="File (or directory for projector); .gz gzips word2vec files; '-' writes word2vec or jsonl to stdout.",
)
@renamed(
    "--ids",
    "ids_file",
    old="--items",
    type=click.File("r", encoding="utf-8"),
    metavar="FILE",
    help="Export only these ids, in this order (one a line; '-' for stdin).",
)
@click.option(
    "--normalize/--no-normalize",
    default=None,
    help="Scale every vector to unit length [default: on for parquet, jsonl and faiss (which needs it), "
    "off for the rest].",
)
@click.option(
    "--dtype",
    type=click.Choice(["float32", "float16"]),
    default="float32",
    show_default=True,
    help="Value type (float16: half the size; not for word2vec-binary).",
)
@click.option("--no-padding", is_flag=True, help="torch/safetensors: no all-zero padding row 0.")
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
@quiet_option
def export(model: Path, fmt: str, output: Path, ids_file: TextIO | None, normalize: bool | None, dtype: str,
           no_padding: bool, force: bool) -> None:  # fmt: skip
    """Write the vectors for other tools.

    word2vec and word2vec-binary are read by gensim's load_word2vec_format and the C tools,
    with the counts in OUTPUT.vocab (gensim's fvocab); npy writes OUTPUT plus OUTPUT.ids.txt;
    parquet has id, vector (a fixed-size list), count (and name), and the metric in its
    metadata; jsonl has one {"id", "index", "vector", "payload"} object a line for vector
    databases; faiss writes an IndexIDMap2 (inner product) plus OUTPUT.ids.txt, line i for id i;
    parquet, jsonl and faiss are unit length unless --no-normalize; projector writes a directory
    of TensorBoard projector vectors.tsv and metadata.tsv; torch (torch.save) and safetensors
    (no torch needed) write an embedding table, 'weight', whose row 0 is all zeros for
    padding_idx=0, and 'ids', the item of every row.

    \b
    item2vec export model -f word2vec -o vectors.txt
    item2vec export model -f parquet -o items.parquet
    item2vec export model -f jsonl -o items.jsonl
    item2vec export model -f faiss -o items.faiss
    item2vec export model -f projector -o projector/
    item2vec export model -f torch -o items.pt --normalize
    item2vec export model -f safetensors -o items.safetensors --ids ids.txt --dtype float16
    item2vec export model -f word2vec -o - | head -3
    """
    from item2vec.export.formats import export as write
    from item2vec.export.formats import export_stream as write_stream
    from item2vec.model.store import load

    items = [line.strip() for line in ids_file if line.strip()] if ids_file else None
    if str(output) == "-":
        if force:
            raise click.UsageError("--force does not apply to -o - (stdout)")
        if fmt not in STREAM_FORMATS:
            raise InputError(
                f"--format {fmt} writes a binary file or a directory, not text: give -o FILE "
                f"(only {', '.join(STREAM_FORMATS)} can go to stdout with -o -)"
            )
        sys.stdout.flush()
        stdout = sys.stdout.buffer
        write_stream(load(model), fmt, stdout, items=items, normalize=normalize, dtype=dtype,
                     padding=not no_padding)  # fmt: skip
        stdout.flush()
        return
    written = write(load(model), fmt, output, force=force, items=items, normalize=normalize, dtype=dtype,
                    padding=not no_padding, model_dir=model)  # fmt: skip
    for path in written:
        say(f"wrote {path}")
