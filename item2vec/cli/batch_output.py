"""Batch tables of the query commands (similar --all, recommend --events): -o FILE or stdout."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click


def check_table_format(output: Path | None, force: bool) -> None:
    """-f must agree with the -o file's suffix (which decides its format); --force needs -o."""
    from item2vec.corpus.tables import TABLE_SUFFIXES

    ctx = click.get_current_context()
    if output is None:
        if force:
            raise click.UsageError("--force applies to -o FILE only")
        return
    fmt = ctx.params["fmt"]
    written = TABLE_SUFFIXES.get(output.suffix.lower())
    explicit = ctx.get_parameter_source("fmt") == click.core.ParameterSource.COMMANDLINE
    if explicit and written is not None and fmt != written:
        raise click.UsageError(
            f"-f {fmt} does not match -o {output} (written as {written}, by its suffix): drop -f, "
            "or name the file .parquet, .csv, .tsv or .jsonl"
        )


@contextmanager
def stdout_table(output: Path | None, fmt: str, group: str) -> Iterator[Callable[[Any], None] | None]:
    """Without -o: a sink that renders each record batch to stdout in ``fmt``, as one document."""
    if output is not None:
        yield None
        return
    from item2vec.render import StreamRenderer

    renderer = StreamRenderer(fmt, group=group)

    def sink(batch: Any) -> None:
        rows = [{**row, "score": round(row["score"], 6)} for row in batch.to_pylist()]
        click.echo(renderer.block(rows), nl=False)

    yield sink
    click.echo(renderer.end(), nl=False)
