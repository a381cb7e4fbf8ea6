"""Questions to a model: similar, analogy, recommend (index and serve: ``serving``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from item2vec.cli.base import (
    approx_index,
    cli,
    output_format,
    quiet_option,
    read_items,
    say,
    score_help,
    score_options,
    top_k,
)
from item2vec.cli.batch_output import check_table_format, stdout_table
from item2vec.cli.candidates import (
    FILTERS,
    batch_shortfall,
    candidate_filter_from,
    candidate_options,
    no_filters,
    say_notes,
)
from item2vec.cli.config_file import config_option
from item2vec.cli.input_options import WHERE_HELP, delimiter_option
from item2vec.model.modes import DECAY, RECOMMEND_SCORE
from item2vec.render import render

if TYPE_CHECKING:
    from item2vec.model.embeddings import Embeddings, Neighbour
    from item2vec.query.scoring import Scorer
    from item2vec.query.searcher import Searcher

SCORE_HELP = score_help()


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
@click.option("--all", "all_items", is_flag=True,
              help="Every item's neighbours: a table streamed to -o FILE, or to stdout in -f format.")  # fmt: skip
@click.option(
    "-o", "--output", type=click.Path(path_type=Path),
    help="With --all: a .parquet, .csv, .tsv or .jsonl file (default: stdout).",
)  # fmt: skip
@click.option("--force", is_flag=True, help="With --all: overwrite an existing -o file.")
@candidate_options
@score_options(SCORE_HELP, default="similar")
@output_format
@quiet_option
def similar(model: Path, items: tuple[str, ...], k: int, combine: bool, titles: tuple[str, ...],
            skip_unknown: bool, approx: bool, all_items: bool, output: Path | None, force: bool,
            fmt: str, **scoring: Any) -> None:  # fmt: skip
    """Find the items most similar to ITEM (cosine), with their names.

    Give several items for one block each, or '-' to read ids from stdin (one a line).
    --all writes the item-to-item table (query, rank, item, score, name) in batches. --score next
    ranks what follows ITEM instead; hybrid adds the counted transitions (its scores are
    standardised, not cosines).

    \b
    item2vec similar model 85123A -k 5
    item2vec similar model --title "hanging heart"
    item2vec similar model 85123A --score next
    item2vec similar model 85123A --exclude-file sold_out.txt --item-where 'count>=20'
    cut -f1 ids.txt | item2vec similar model - -f jsonl
    item2vec similar model --all -k 50 -o neighbours.parquet
    """
    from item2vec.model.store import load

    if all_items:
        if items or titles:
            raise click.UsageError("--all takes no ITEM or --title: it answers for every item")
        return _similar_all(model, k, approx=approx, output=output, force=force, fmt=fmt, scoring=scoring)
    if output is not None or force:
        raise click.UsageError(
            f"{'-o' if output is not None else '--force'} applies to --all only: "
            "for ITEM queries redirect stdout (item2vec similar MODEL ITEM -f csv > FILE)"
        )
    if not items and not titles:
        raise click.UsageError("give ITEM ids, '-' to read them from stdin, or --title TEXT")
    embeddings = load(model)
    scorer = _scorer(embeddings, model, approx_index(embeddings, model, approx), scoring)
    query, notes = embeddings.resolve(read_items(items), titles, skip_unknown=skip_unknown)
    say_notes(notes)
    scorer = replace(scorer, candidates=candidate_filter_from(embeddings, scoring))
    found = scorer.similar(query, k, combine=combine)
    _shortfall(found, [" + ".join(query)] if combine else query, k, scorer)
    rows = [n.as_row(bool(embeddings.names)) for n in found]
    click.echo(render(rows, fmt, group="query"), nl=False)


def _shortfall(found: list[Neighbour], labels: list[str], k: int, scorer: Scorer) -> None:
    """Notes for the queries the candidate filters left with fewer than k items."""
    from item2vec.query.filters import shortfall_notes

    if scorer.candidates is not None:
        say_notes(shortfall_notes(found, labels, k, scorer.candidates, approx=scorer.approx))


def _scorer(
    embeddings: Embeddings, model: Path, searcher: Searcher | None, scoring: dict[str, Any]
) -> Scorer:
    """The scorer that --score, --hybrid-weight and --hybrid-base ask for (over --approx's indexes)."""
    from item2vec.query.scoring import make_scorer, open_parts

    return make_scorer(open_parts(embeddings, model), scoring.pop("score"), hybrid_weight=scoring.pop("hybrid_weight"),
                       hybrid_base=scoring.pop("hybrid_base"), searcher=searcher)  # fmt: skip


def _similar_all(model: Path, k: int, *, approx: bool, output: Path | None, force: bool, fmt: str,
                 scoring: dict[str, Any]) -> None:  # fmt: skip
    from item2vec.model.store import load
    from item2vec.query.batch import neighbour_table

    check_table_format(output, force)
    embeddings = load(model)
    scorer = _scorer(embeddings, model, approx_index(embeddings, model, approx), scoring)
    scorer = replace(scorer, candidates=candidate_filter_from(embeddings, scoring))
    with stdout_table(output, fmt, "query") as sink:
        summary = neighbour_table(embeddings, output, k=k, force=force, sink=sink, scorer=scorer)
    say(summary.line("items"))
    say_notes(batch_shortfall(scorer.candidates, k))


class _AnalogyCommand(click.Command):
    """An EXPRESSION that starts with a sign ('- man + king') is an argument, not an option."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        signed = [a for a in args[:end] if a[:1] == "-" and any(ch.isspace() for ch in a)]
        if signed:  # an option never holds whitespace: move the expression behind '--'
            rest = [a for a in args[:end] if a not in signed]
            args = [*rest, "--", *signed, *args[end + 1 :]]
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            hint = "an EXPRESSION that starts with '-' goes after --: item2vec analogy MODEL -- '-a + b'"
            raise click.UsageError(f"{exc.format_message()} ({hint})", ctx) from None


@cli.command(cls=_AnalogyCommand)
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
@quiet_option
def analogy(model: Path, expression: str | None, positive: tuple[str, ...], negative: tuple[str, ...],
            method: str, k: int, approx: bool, fmt: str) -> None:  # fmt: skip
    """Answer A - B + C: the items closest to the combination, inputs excluded.

    Write EXPRESSION with spaces around each sign, so ids with hyphens stay whole; a leading
    sign subtracts the first term ('- man + king'). '-' reads expressions from stdin, one a line,
    for one answer block each.

    \b
    item2vec analogy text-model "king - man + woman" -k 3
    printf 'king - man + woman\\nparis - france + italy\\n' | item2vec analogy text-model - -f jsonl
    item2vec analogy text-model -p king -p woman -n man --method mul
    """
    from item2vec.model.embeddings import parse_analogy
    from item2vec.model.store import load
    from item2vec.query.neighbours import analogy as find_analogy

    if expression and (positive or negative):
        raise click.UsageError("give either EXPRESSION or --positive/--negative, not both")
    if not expression and not positive:
        raise click.UsageError("give an EXPRESSION such as 'king - man + woman', or --positive items")
    expressions = read_items((expression,)) if expression else []
    if expression == "-" and not expressions:
        raise click.UsageError(
            "'-' read no EXPRESSION from stdin: give one a line, such as 'king - man + woman'"
        )
    embeddings = load(model)
    searcher = approx_index(embeddings, model, approx)
    index = searcher.index("similar") if searcher is not None else None
    queries: list[tuple[list[str], list[str], str | None]] = [(list(positive), list(negative), None)]
    if expressions:  # one answer block per expression, labelled as written
        queries = [(*parse_analogy(text, embeddings), " ".join(text.split())) for text in expressions]
    answer = [
        found
        for pos, neg, label in queries
        for found in find_analogy(embeddings, pos, neg, k, method=method, label=label, index=index)  # type: ignore[arg-type]
    ]
    rows = [n.as_row(bool(embeddings.names)) for n in answer]
    click.echo(render(rows, fmt, group="query"), nl=False)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("items", nargs=-1, metavar="[ITEM]...")
@click.option("--history", multiple=True, metavar="ITEM",
              help="The user's items, oldest first: --history A B C ('-' reads stdin, one a line).")  # fmt: skip
@click.option("--events", multiple=True, metavar="FILE",
              help="Event log: candidates for every user in it, to -o FILE or stdout.")  # fmt: skip
@click.option("--decay", type=click.FloatRange(0, 1, min_open=True), default=None,
              help=f"Weight per step back in the history (1: plain mean; default: the model's, chosen by "
                   f"train's calibration, else {DECAY:g}).")  # fmt: skip
@click.option("--history-size", type=click.IntRange(1), default=5, show_default=True,
              help="Use the last N known items of a history.")  # fmt: skip
@click.option("--keep-seen/--exclude-seen", default=None,
              help="Also recommend items the user has already seen, or never (default: as the model's "
                   "scoring says: seen items come back when it has a repeat weight).")  # fmt: skip
@top_k
@click.option(
    "--approx", is_flag=True, help="Search the index built by 'item2vec index' (fast, approximate)."
)
@config_option
@click.option(
    "--user-col", help="--events: column of user ids (default: as the model was trained, else user_id)."
)
@click.option("--session-col",
              help="--events: candidates per session of this column (default: the model's, if it had no user column).")  # fmt: skip
@click.option("--item-col", help="--events: column of item ids (default: as the model was trained).")
@click.option(
    "--time-col", help="--events: column of times (default: as the model was trained; else file order)."
)
@click.option(
    "--input-format",
    type=click.Choice(["csv", "tsv", "parquet", "jsonl"]),
    help="--events: override format detection.",
)
@click.option("--where", multiple=True, metavar="FILTER", help="--events: " + WHERE_HELP)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path),
    help="--events: a .parquet, .csv, .tsv or .jsonl file (default: stdout, in -f format).",
)  # fmt: skip
@delimiter_option(inherit=True, prefix="--events: ")
@click.option("--user-vectors", is_flag=True,
              help="--events: write every user's vector (the decayed mean it queries with), not candidates.")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite an existing -o file.")
@candidate_options
@score_options(SCORE_HELP[:-1] + f" (default: the model's, else {RECOMMEND_SCORE}).")
@output_format
@quiet_option
def recommend(model: Path, items: tuple[str, ...], history: tuple[str, ...], events: tuple[str, ...], decay: float | None,
              history_size: int, keep_seen: bool | None, k: int, approx: bool, output: Path | None, user_vectors: bool,
              force: bool, fmt: str, score: str | None, hybrid_weight: float | None, hybrid_base: str | None,
              **cols: Any) -> None:  # fmt: skip
    """Recommend items from a history: the decayed mean of the user's recent items.

    Items already in the history are left out, unless the model's scoring brings them back
    (a repeat weight, chosen by train's calibration where people come back to items) or
    --keep-seen; --exclude-seen always leaves them out. With --events, every user of
    an event log gets k candidates, streamed as a table (user, rank, item, score, name); its
    columns default to the ones the model was trained with. With --user-vectors, every user's
    vector instead (Parquet: user, vector; CSV/TSV: user, v0, v1, ...), for two-tower recall
    or an ANN index over the item vectors. --score picks how candidates are scored
    (docs/retrieval.md); hybrid, the default, sums the history's transitions with the same
    decay, and its scores are standardised, not cosines.

    \b
    item2vec recommend model --history 22423 85123A 47566 -k 5
    item2vec recommend model --history 22423 85123A --score next
    item2vec recommend model --history 22423 85123A --only-file in_stock.txt
    item2vec recommend model --events events.csv --user-col CustomerID -k 100 -o candidates.parquet
    item2vec recommend model --events events.csv --user-col CustomerID --user-vectors -o users.parquet
    """
    from item2vec.model.store import load

    filters = {name: cols.pop(name) for name in FILTERS}
    if events and (history or items):
        raise click.UsageError("--events takes no ITEM or --history")
    if not events and not history and not items:
        raise click.UsageError("give the history: --history ITEM... ('-' reads stdin), or --events FILE")
    if user_vectors:
        scored = any(value is not None for value in (score, hybrid_weight, hybrid_base))
        _check_user_vectors(bool(events), keep_seen=keep_seen, approx=approx, output=output, scored=scored)
        no_filters(filters, "--user-vectors writes vectors, not candidates")
    if not events:
        ctx = click.get_current_context()
        typed = [
            name
            for name in [*cols, "output"]
            if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
        ]
        given = [
            f"--{name.replace('_', '-')}" if name != "output" else "-o" for name in typed
        ]  # not --config's
        if given:
            raise click.UsageError(
                f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to --events only"
            )
    embeddings = load(model)
    if events and user_vectors:
        from item2vec.model.scoring_record import Scoring

        decay = Scoring.recorded_history(embeddings.meta)[1] if decay is None else decay
        return _user_vectors(embeddings, list(events), output, force=force, decay=decay,  # type: ignore[arg-type]
                             history_size=history_size, cols=cols)  # fmt: skip
    scorer = _scorer(embeddings, model, approx_index(embeddings, model, approx),
                     {"score": score, "hybrid_weight": hybrid_weight, "hybrid_base": hybrid_base})  # fmt: skip
    if events:
        scorer = replace(scorer, candidates=candidate_filter_from(embeddings, filters))
        return _recommend_events(embeddings, list(events), output, fmt=fmt, force=force, k=k, decay=decay,
                                 history_size=history_size, keep_seen=keep_seen, cols=cols,
                                 scorer=scorer)  # fmt: skip
    from item2vec.query.recommend import recommend as from_history

    scorer = replace(scorer, candidates=candidate_filter_from(embeddings, filters))
    found = from_history(embeddings, read_items(history + items), k, decay=decay, history_size=history_size,
                         keep_seen=keep_seen, scorer=scorer)  # fmt: skip
    say_notes(found.notes)
    _shortfall(found.neighbours, ["history"], k, scorer)
    rows = [n.as_row(bool(embeddings.names)) for n in found.neighbours]
    click.echo(render(rows, fmt, columns=[c for c in rows[0] if c != "query"] if rows else None), nl=False)


def _check_user_vectors(
    events: bool, *, keep_seen: bool | None, approx: bool, output: Path | None, scored: bool = False
) -> None:
    """--user-vectors needs --events; the options for ranking candidates do not apply to it."""
    if not events:
        raise click.UsageError(
            "--user-vectors needs --events FILE (and -o FILE): it writes every user's vector"
        )
    if output is None:
        raise click.UsageError("--user-vectors needs -o FILE (.parquet, .csv or .tsv)")
    given_k = click.get_current_context().get_parameter_source("k") is not click.core.ParameterSource.DEFAULT
    unused = [name for name, on in (("-k", given_k), ("--keep-seen" if keep_seen else "--exclude-seen", keep_seen is not None), ("--approx", approx),
                                    ("--score/--hybrid-*", scored)) if on]  # fmt: skip
    if unused:
        verb = "does" if len(unused) == 1 else "do"
        raise click.UsageError(
            f"--user-vectors writes vectors, not candidates: {', '.join(unused)} {verb} not apply"
        )


def _user_vectors(embeddings: Any, events: list[str], output: Path, *, force: bool, cols: dict[str, Any],
                  **params: Any) -> None:  # fmt: skip
    from item2vec.query.histories import event_columns
    from item2vec.query.users import write_user_vectors

    input_format = cols.pop("input_format")
    columns = event_columns(embeddings.meta, where=tuple(cols.pop("where")), **cols)
    summary = write_user_vectors(embeddings, events, output, columns=columns, input_format=input_format,
                                 force=force, **params)  # fmt: skip
    say(summary.line(columns.label + "s"))


def _recommend_events(embeddings: Any, events: list[str], output: Path | None, *, fmt: str, force: bool,
                      cols: dict[str, Any], **params: Any) -> None:  # fmt: skip
    from item2vec.query.batch import recommend_events
    from item2vec.query.histories import event_columns

    check_table_format(output, force)
    input_format = cols.pop("input_format")
    columns = event_columns(embeddings.meta, where=tuple(cols.pop("where")), **cols)
    with stdout_table(output, fmt, columns.label) as sink:
        summary = recommend_events(embeddings, events, output, columns=columns, input_format=input_format,
                                   force=force, sink=sink, **params)  # fmt: skip
    say(summary.line(columns.label + "s"))
    say_notes(batch_shortfall(params["scorer"].candidates, params["k"]))
