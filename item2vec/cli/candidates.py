"""Candidate filters of the query commands: --exclude, --only, --item-where, and their notes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from item2vec.cli.base import say

if TYPE_CHECKING:
    from item2vec.model.embeddings import Embeddings
    from item2vec.query.filters import CandidateFilter

FILTERS = ("exclude", "exclude_file", "only", "only_file", "item_where", "items_file", "id_col")
_ITEM_WHERE_HELP = (
    "Answer only with items whose row passes FILTER: --where's syntax on the items table "
    "(id, name, count, and --items' columns), e.g. 'count>=20', 'category=toys'; repeatable (all must hold)."
)


def candidate_options(func: Any) -> Any:
    """--exclude/--exclude-file, --only/--only-file and --item-where: the items an answer may hold."""
    ids = click.Path(exists=True, dir_okay=False, path_type=Path)
    options = [
        click.option("--exclude", multiple=True, metavar="ITEM", help="Never answer with ITEM (repeatable)."),
        click.option("--exclude-file", type=ids, help="Never answer with the ids in FILE (one a line)."),
        click.option("--only", multiple=True, metavar="ITEM", help="Answer only with these items (repeatable)."),
        click.option("--only-file", type=ids, help="Answer only with the ids in FILE (one a line)."),
        click.option("--item-where", multiple=True, metavar="FILTER", help=_ITEM_WHERE_HELP),
        click.option("--items", "items_file", type=click.Path(dir_okay=False),
                     help="--item-where: a table of item attributes (CSV/TSV/Parquet/JSONL) to filter on."),
        click.option("--id-col", default="id", show_default=True, help="--item-where: the id column of --items."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def _id_lines(path: Path | None) -> list[str]:
    if path is None:
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def candidate_filter_from(embeddings: Embeddings, given: dict[str, Any]) -> CandidateFilter | None:
    """The filter --exclude, --only and --item-where ask for (their values popped from ``given``);
    ids the model lacks are noted on stderr."""
    from item2vec.query.filters import candidate_filter, parse_wheres, read_items_table

    opts = {name: given.pop(name) for name in FILTERS}
    only = [*opts["only"], *_id_lines(opts["only_file"])]
    wheres = parse_wheres(list(opts["item_where"]))
    if opts["items_file"] is not None and not wheres:
        raise click.UsageError("--items is the table --item-where filters on: give --item-where too")
    table = read_items_table(opts["items_file"], opts["id_col"], wheres) if opts["items_file"] else None
    found = candidate_filter(
        embeddings,
        exclude=[*opts["exclude"], *_id_lines(opts["exclude_file"])],
        only=only if opts["only"] or opts["only_file"] is not None else None,
        item_where=wheres,
        items=table,
    )
    if found is not None:
        say_notes(list(found.notes))
    return found


def no_filters(given: dict[str, Any], refusal: str) -> None:
    """The candidate filters refused where they do not apply: ``refusal`` says why (e.g.
    ``--user-vectors writes vectors, not candidates``)."""
    used = [f"--{name.replace('_', '-')}" for name in FILTERS[:5] if given.get(name)]
    used += ["--items"] if given.get("items_file") else []
    if used:
        raise click.UsageError(f"{refusal}: {', '.join(used)} {'does' if len(used) == 1 else 'do'} not apply")


def batch_shortfall(candidates: CandidateFilter | None, k: int) -> list[str]:
    """A note when the filters keep fewer than ``k`` items: every query of a batch (--all,
    --events) gets fewer than k rows."""
    if candidates is None or candidates.count >= k:
        return []
    n = candidates.count
    return [f"the filters keep {n:,} item{'s' if n != 1 else ''}, so every answer has fewer than {k} rows"]


def say_notes(notes: list[str]) -> None:
    """Notes on stderr, each parameter they name spelled as this command's flag (by ``say``)."""
    for note in notes:
        say(note)
