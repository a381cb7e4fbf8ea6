"""The command-line interface: parse options, call one core function, render, map errors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from item2vec import __version__
from item2vec.errors import Item2VecError
from item2vec.events import INPUT_FORMATS
from item2vec.export import EXPORT_FORMATS
from item2vec.render import FORMATS, render, render_record, render_sections
from item2vec.train import Progress

if TYPE_CHECKING:
    from item2vec.embeddings import Embeddings

F = TypeVar("F", bound=Callable[..., Any])
TRAIN_PARAMS = (
    "dim", "window", "negative", "ns_exponent", "sample", "epochs",
    "min_count", "max_vocab", "alpha", "workers", "seed", "context",
)  # fmt: skip


class Item2VecGroup(click.Group):
    """Turns Item2VecError into ``Error: ...`` (exit 1) and Ctrl-C into exit 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Item2VecError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("\nInterrupted: nothing was written.", err=True)
            ctx.exit(130)


def output_format(func: F) -> F:
    """The shared ``-f/--format`` option of every query command."""
    option = click.option(
        "-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
        help="Output format: table for people, the rest for pipes.",
    )  # fmt: skip
    return option(func)


def top_k(func: F) -> F:
    option = click.option(
        "-k", "--top", "k", type=click.IntRange(1, 100_000), default=10, show_default=True,
        help="How many results per query.",
    )  # fmt: skip
    return option(func)


@click.group(cls=Item2VecGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="item2vec")
def cli() -> None:
    """Item embeddings from behaviour logs: train, then ask which items are alike.

    \b
    item2vec train events.csv --user-col user --item-col item -o model
    item2vec similar model 85123A -k 5
    """


def _load_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    from item2vec.config import load_config_file

    allowed = {p.name for p in ctx.command.params if p.name and p.name not in ("config", "inputs")}
    try:
        ctx.default_map = {**(ctx.default_map or {}), **load_config_file(Path(value), allowed)}
    except Item2VecError as exc:
        raise click.BadParameter(str(exc)) from None


def _duration(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    from item2vec.sequences import parse_duration

    try:
        return parse_duration(str(value))
    except Item2VecError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), required=True, help="Model directory to write."
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    is_eager=True,
    expose_value=False,
    callback=_load_config,
    help="TOML file of option defaults; flags override it.",
)
@click.option("--input-format", type=click.Choice(INPUT_FORMATS), help="Override format detection.")
@click.option("--user-col", help="Column of user ids (default: user_id, unless --session-col is given).")
@click.option("--session-col", help="Column of session/basket ids (e.g. InvoiceNo).")
@click.option("--item-col", default="item_id", show_default=True, help="Column of item ids.")
@click.option("--time-col", help="Column of times: epoch s/ms or ISO 8601.")
@click.option(
    "--session-gap", callback=_duration, help="Split a user's events on gaps longer than this (30m, 2h)."
)
@click.option(
    "--drop-repeats/--keep-repeats",
    default=True,
    show_default=True,
    help="Drop consecutive repeats of an item.",
)
@click.option(
    "--min-length", type=click.IntRange(1), default=2, show_default=True, help="Drop shorter sequences."
)
@click.option(
    "--where",
    multiple=True,
    metavar="COL=VALUE",
    help="Keep rows where COL=VALUE (or COL!=VALUE); repeatable.",
)
@click.option("--items", "items_file", type=click.Path(dir_okay=False), help="Item metadata table (names).")
@click.option("--id-col", help="Id column in --items (default: --item-col).")
@click.option("--title-col", default="title", show_default=True, help="Name column in --items.")
@click.option(
    "--preset",
    type=click.Choice(["recsys", "text"]),
    help="Defaults: recsys for events/sequences, text for text.",
)
@click.option(
    "--context",
    type=click.Choice(["window", "set"]),
    help="window: ordered skip-gram; set: whole basket, order ignored.",
)
@click.option("--dim", type=int, help="Vector dimensions.")
@click.option("--window", type=int, help="Context window (items each side).")
@click.option("--negative", type=int, help="Negative samples per positive.")
@click.option("--ns-exponent", type=float, help="Negative-sampling exponent (-1 to 1; 0.75 for text).")
@click.option("--sample", type=float, help="Down-sampling threshold for frequent items (0 = off).")
@click.option("--epochs", type=int, help="Passes over the corpus.")
@click.option("--min-count", type=int, help="Ignore items with fewer occurrences.")
@click.option("--max-vocab", type=int, help="Keep at most this many items (raises min-count).")
@click.option("--alpha", type=float, help="Initial learning rate.")
@click.option("--workers", type=int, help="Training threads (default: all cores).")
@click.option("--seed", type=int, help="Random seed; with --workers 1 runs repeat exactly.")
@click.option("--force", is_flag=True, help="Replace an existing model directory.")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary on stderr.")
def train(inputs: tuple[str, ...], output: Path, **opts: Any) -> None:
    """Train item embeddings from event logs, sequences or text.

    INPUT is an event table (CSV, TSV, Parquet, JSON Lines, optionally .gz), a sequence
    file (one sequence a line), or plain text; '-' reads stdin.

    \b
    item2vec train sample_data/online_retail.csv.gz -o retail \\
        --session-col InvoiceNo --item-col StockCode --context set \\
        --items sample_data/products.csv --id-col StockCode --title-col Description
    item2vec train sample_data/text.txt.gz -o text-model
    """
    from item2vec.pipeline import ItemsOptions, run_training
    from item2vec.sequences import SessionOptions, Where

    quiet = opts.pop("quiet")
    session = SessionOptions(
        item_col=opts["item_col"],
        user_col=opts["user_col"] or (None if opts["session_col"] else "user_id"),
        session_col=opts["session_col"],
        time_col=opts["time_col"],
        session_gap=opts["session_gap"],
        drop_repeats=opts["drop_repeats"],
        min_length=opts["min_length"],
        where=tuple(Where.parse(w) for w in opts["where"]),
    )
    items = None
    if opts["items_file"]:
        items = ItemsOptions(opts["items_file"], opts["id_col"] or opts["item_col"], opts["title_col"])
    summary = run_training(
        list(inputs),
        output=output,
        session=session,
        overrides={k: opts[k] for k in TRAIN_PARAMS},
        preset=opts["preset"],
        input_format=opts["input_format"],
        items=items,
        force=opts["force"],
        progress=None if quiet or not sys.stderr.isatty() else progress_line,
    )
    if not quiet:
        from item2vec.report import summary_lines

        click.echo("\n".join(summary_lines(summary)), err=True)


def progress_line(progress: Progress) -> None:
    """One self-overwriting progress line on stderr."""
    eta = int(progress.eta_seconds)
    text = (
        f"\repoch {progress.epoch}/{progress.epochs}  {progress.fraction:6.1%}  "
        f"{progress.items_per_second:,.0f} items/s  ETA {eta // 60}:{eta % 60:02d}  "
    )
    click.echo(text, err=True, nl=progress.fraction >= 1.0)


def _read_items(items: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item == "-":
            text = sys.stdin.read()
            out.extend(stripped for stripped in (raw.strip() for raw in text.splitlines()) if stripped)
        else:
            out.append(item)
    return out


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


# --- measuring and tuning: split, evaluate, tune ------------------------------------------------


def _session_options(*, inherit: bool) -> Callable[[F], F]:
    """train's user/session/time options; with ``inherit``, unset ones come from the model."""
    was = " (default: as the model was trained)" if inherit else ""

    def decorate(func: F) -> F:
        options = [
            click.option("--input-format", type=click.Choice(INPUT_FORMATS), help="Override format detection."),
            click.option("--user-col", help="Column of user ids (default: user_id, unless --session-col is given)."
                         if not inherit else "Column of user ids" + was + "."),
            click.option("--session-col", help="Column of session/basket ids" + was + "."),
            click.option("--item-col", default=None if inherit else "item_id", show_default=not inherit,
                         help="Column of item ids" + was + "."),
            click.option("--time-col", help="Column of times: epoch s/ms or ISO 8601" + was + "."),
            click.option("--session-gap", callback=_duration,
                         help="Split a user's events on gaps longer than this (30m, 2h)" + was + "."),
            click.option("--drop-repeats/--keep-repeats", default=None if inherit else True,
                         show_default=not inherit, help="Drop consecutive repeats of an item" + was + "."),
            click.option("--min-length", type=click.IntRange(1), default=None if inherit else 2,
                         show_default=not inherit, help="Drop shorter sequences" + was + "."),
            click.option("--where", multiple=True, metavar="COL=VALUE",
                         help="Keep rows where COL=VALUE (or COL!=VALUE); repeatable."),
        ]  # fmt: skip
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


_SESSION_KEYS = (
    "user_col",
    "session_col",
    "item_col",
    "time_col",
    "session_gap",
    "drop_repeats",
    "min_length",
)


def _session_values(opts: dict[str, Any]) -> dict[str, Any]:
    """Pop the session options out of ``opts`` (``--where`` parsed)."""
    from item2vec.sequences import Where

    values = {key: opts.pop(key) for key in _SESSION_KEYS}
    values["where"] = tuple(Where.parse(w) for w in opts.pop("where"))
    return values


def _session(opts: dict[str, Any]) -> Any:
    from item2vec.sequences import SessionOptions

    values = _session_values(opts)
    values["user_col"] = values["user_col"] or (None if values["session_col"] else "user_id")
    return SessionOptions(**values)


@cli.command()
@click.argument("events", metavar="EVENTS")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Directory for the train, valid and test files.",
)
@click.option(
    "--by",
    type=click.Choice(["last", "time"]),
    default="last",
    show_default=True,
    help="last: hold out each sequence's last two items; time: hold out what follows --cutoff.",
)
@click.option(
    "--cutoff", metavar="DATE", help="With --by time: the first held-out time (ISO 8601 or epoch s)."
)
@_session_options(inherit=False)
@click.option("--force", is_flag=True, help="Replace split files already in the directory.")
@output_format
def split(events: str, output: Path, by: str, cutoff: str | None, force: bool, fmt: str, **opts: Any) -> None:  # fmt: skip
    """Split events into train, validation and test files, in the input's own format.

    --by last: in every sequence (grouped and ordered as train does) of 3+ items, the last
    item is the test target and the one before it the validation target. --by time: events
    before --cutoff are for training (the last of each sequence validates); every sequence
    ending after it is a test case. valid and test files hold whole sequences, target last.

    \b
    item2vec split sample_data/online_retail.csv.gz -o split \\
        --user-col CustomerID --item-col StockCode --time-col InvoiceDate
    item2vec split events.csv -o split --by time --cutoff 2011-11-01 --time-col ts
    """
    from item2vec.split import split_events

    input_format = opts.pop("input_format")
    summary = split_events(
        events, output, session=_session(opts), by=by, cutoff=cutoff,  # type: ignore[arg-type]
        input_format=input_format, force=force,
    )  # fmt: skip
    for reason, count in summary.rows_dropped.items():
        click.echo(f"dropped {count:,} of {summary.rows_read:,} rows: {reason}", err=True)
    click.echo(render(summary.as_rows(), fmt), nl=False)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("tests", nargs=-1, metavar="[TEST]...")
@click.option(
    "-k", "ks", default="10", show_default=True, metavar="K[,K...]", help="Cut-offs, e.g. 10,20,50."
)
@click.option(
    "--query",
    type=click.Choice(["last", "history"]),
    default="last",
    show_default=True,
    help="Query with the last item, or the decayed mean of the last --history items.",
)
@click.option(
    "--history", type=click.IntRange(1), default=5, show_default=True, help="Items in a --query history."
)
@click.option(
    "--train",
    "train_files",
    multiple=True,
    metavar="FILE",
    help="The model's training data, for the baselines (default: the inputs in model.json).",
)
@click.option(
    "--baselines/--no-baselines",
    default=True,
    show_default=True,
    help="Also score most-popular and co-occurrence on the training data.",
)
@click.option(
    "--analogies",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Analogy questions (questions-words format): accuracy per section.",
)
@click.option(
    "--pairs",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Word pairs with human scores: Spearman and Pearson correlation.",
)
@click.option(
    "--fail-under",
    multiple=True,
    metavar="METRIC=VALUE",
    help="Exit 1 when the model's METRIC is below VALUE (hr@10=0.2); repeatable.",
)
@_session_options(inherit=True)
@output_format
def evaluate(model: Path, tests: tuple[str, ...], ks: str, query: str, history: int, train_files: tuple[str, ...],
             baselines: bool, analogies: Path | None, pairs: Path | None, fail_under: tuple[str, ...],
             fmt: str, **opts: Any) -> None:  # fmt: skip
    """Measure a model: next-item accuracy against baselines, analogies, word pairs.

    Each TEST sequence's last item is the target and the items before it the history (the
    valid and test files of 'item2vec split'). The model ranks the whole catalogue for every
    case; most-popular and co-occurrence, counted on the model's own training data, are
    scored the same way. HR, NDCG and MRR at each cut-off, catalogue coverage, and the share
    of cold targets (not in the model). Test files are read as the model's training data was.

    \b
    item2vec evaluate model split/test.csv.gz -k 10,20
    item2vec evaluate model split/test.csv.gz --fail-under hr@10=0.2 -f json
    item2vec evaluate text-model --analogies questions-words.txt --pairs wordsim353.tsv
    """
    from item2vec.evaluate import parse_ks, parse_threshold
    from item2vec.heldout import run_evaluation, thresholds_met
    from item2vec.store import load

    if not tests and analogies is None and pairs is None:
        raise click.UsageError("give TEST files, --analogies FILE or --pairs FILE")
    cutoffs = parse_ks(ks)
    bars = [parse_threshold(text, cutoffs) for text in fail_under]
    input_format = opts.pop("input_format")
    evaluation = run_evaluation(
        load(model), list(tests), session_overrides=_session_values(opts), input_format=input_format,
        train_files=list(train_files) or None, baselines=baselines, ks=cutoffs, query=query,  # type: ignore[arg-type]
        history=history, analogies=analogies, pairs=pairs,
    )  # fmt: skip
    for note in evaluation.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(render_sections(evaluation.sections, fmt), nl=False)
    thresholds_met(evaluation, bars)


@cli.command()
@click.argument("train_file", metavar="TRAIN")
@click.argument("valid_file", metavar="VALID")
@click.option(
    "--metric", default="ndcg@10", show_default=True, help="Maximise this on VALID: hr@K, ndcg@K or mrr@K."
)
@click.option("--trials", type=click.IntRange(1), default=30, show_default=True, help="How many trials.")
@click.option("--timeout", callback=_duration, help="Start no trial after this long (20m, 1h).")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the search and of training.")
@click.option(
    "--sample",
    type=click.FloatRange(0, 1, min_open=True),
    default=1.0,
    show_default=True,
    help="Tune on this share of the sequences; the final model uses all.",
)
@click.option(
    "--query",
    type=click.Choice(["last", "history"]),
    default="last",
    show_default=True,
    help="How validation cases are queried (as in evaluate).",
)
@click.option(
    "--history", type=click.IntRange(1), default=5, show_default=True, help="Items in a --query history."
)
@click.option(
    "--preset",
    type=click.Choice(["recsys", "text"]),
    default="recsys",
    show_default=True,
    help="Values of the parameters not searched (min-count, ...).",
)
@click.option(
    "--fix",
    multiple=True,
    metavar="NAME=VALUE",
    help="Keep a parameter out of the search (dim=64, context=set); repeatable.",
)
@click.option(
    "--min-count", type=click.IntRange(1), help="Ignore items with fewer occurrences (not searched)."
)
@click.option("--workers", type=click.IntRange(1), help="Training threads (default: all cores).")
@click.option(
    "-c",
    "--save-config",
    type=click.Path(dir_okay=False, path_type=Path),
    default="best.toml",
    show_default=True,
    help="Write the best configuration here, as TOML for train --config.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Also train the final model on TRAIN + VALID into this directory.",
)
@click.option("--force", is_flag=True, help="Replace an existing --save-config file and model directory.")
@_session_options(inherit=False)
@click.option("-q", "--quiet", is_flag=True, help="No live table of trials on stderr.")
@output_format
def tune(train_file: str, valid_file: str, metric: str, trials: int, timeout: float | None, seed: int,
         sample: float, query: str, history: int, preset: str, fix: tuple[str, ...], min_count: int | None,
         workers: int | None, save_config: Path, output: Path | None, force: bool, quiet: bool, fmt: str,
         **opts: Any) -> None:  # fmt: skip
    """Search training parameters that maximise a next-item metric on validation data.

    Optuna's TPE sampler searches dim, window, negative, ns-exponent, sample, epochs, alpha
    and context, training on TRAIN and scoring VALID (never the test data); trial 0 is the
    preset; hopeless trials are pruned. Ctrl-C stops the search and keeps the best so far.
    Needs the tune extra: pip install 'item2vec[tune]'.

    \b
    item2vec tune split/train.csv.gz split/valid.csv.gz --trials 30 --sample 0.2 \\
        --user-col CustomerID --item-col StockCode --time-col InvoiceDate -o model
    item2vec train events.csv --config best.toml -o model
    """
    from item2vec.tune import TuneOptions, parse_fixed, run_tune, trial_header, trial_line

    if save_config.exists() and not force:
        raise click.UsageError(f"{save_config} exists: use --force to replace it, or --save-config FILE")
    fixed = {**parse_fixed(list(fix)), "min_count": min_count, "workers": workers}
    options = TuneOptions(metric=metric, trials=trials, timeout=timeout, seed=seed, sample=sample,
                          query=query, history=history, preset=preset,  # type: ignore[arg-type]
                          fixed={k: v for k, v in fixed.items() if v is not None})  # fmt: skip
    lines = iter([trial_header(metric)])

    def report(trial: Any) -> None:
        if not quiet:
            click.echo("".join(f"{head}\n" for head in lines) + trial_line(trial), err=True)

    input_format = opts.pop("input_format")
    result = run_tune(
        train_file, valid_file, session=_session(opts), options=options, input_format=input_format,
        config_out=save_config, output=output, force=force, report=report,
        progress=None if quiet or not sys.stderr.isatty() else progress_line,
    )  # fmt: skip
    if result.interrupted:
        click.echo("Interrupted: kept the best trial so far.", err=True)
    if not quiet:
        click.echo(f"wrote {save_config}" + (f" and model {output}" if output else ""), err=True)
    click.echo(render_record(result.as_record(), fmt), nl=False)


# --- into other tools: plot, report ------------------------------------------------------------


def _map_options(func: F) -> F:
    """The options of the item map, shared by plot and report."""
    options = [
        click.option("--method", type=click.Choice(["pca", "tsne", "umap"]), default="pca", show_default=True,
                     help="2-D projection: PCA, t-SNE (scikit-learn) or UMAP (item2vec[umap])."),
        click.option("--color-by", default="cluster", show_default=True, metavar="cluster|frequency|none|COLUMN",
                     help="k-means clusters, count bands, one colour, or a COLUMN of --items."),
        click.option("--clusters", type=click.IntRange(2, 10), default=8, show_default=True,
                     help="Clusters for --color-by cluster."),
        click.option("--sample", type=click.IntRange(0), default=5000, show_default=True,
                     help="Map at most N items, drawn at random (0: all)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample and projection."),
        click.option("--items", "items_file", type=click.Path(dir_okay=False),
                     help="Item table holding the --color-by COLUMN."),
        click.option("--id-col", help="Id column in --items (default: the model's --item-col)."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def _map_kwargs(opts: dict[str, Any]) -> dict[str, Any]:
    keys = ("method", "color_by", "clusters", "seed", "items_file", "id_col")
    return {**{k: opts[k] for k in keys}, "sample": opts["sample"] or None}


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="map.html (interactive, names on hover) or map.png, .svg, .pdf.")  # fmt: skip
@_map_options
@click.option("--labels", type=click.IntRange(0), default=25, show_default=True,
              help="Images: name up to N popular items (overlapping names are left out).")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
def plot(model: Path, output: Path, labels: int, force: bool, **opts: Any) -> None:
    """Draw a 2-D map of the items, coloured by cluster, popularity or a column.

    Needs the plot extra: pip install 'item2vec[plot]' (UMAP: 'item2vec[umap]').

    \b
    item2vec plot model -o map.html
    item2vec plot model -o map.png --method tsne --color-by frequency
    item2vec plot model -o map.png --items catalogue.csv --id-col sku --color-by category
    """
    from item2vec.plot import plot as draw
    from item2vec.store import load

    path, points = draw(load(model), output, force=force, labels=labels, **_map_kwargs(opts))
    click.echo(f"wrote {path} ({len(points.ids):,} of {points.total:,} items)", err=True)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="report.html to write.")
@click.option("--test", "tests", multiple=True, metavar="TEST",
              help="Held-out sequences (split's test file): adds next-item metrics vs baselines.")  # fmt: skip
@click.option("--train", "train_files", multiple=True, metavar="FILE",
              help="The model's training data, for the baselines (default: the inputs in model.json).")  # fmt: skip
@click.option("--baselines/--no-baselines", default=True, show_default=True,
              help="Score most-popular and co-occurrence beside the model.")  # fmt: skip
@click.option("-k", "ks", default="10", show_default=True, metavar="K[,K...]", help="Evaluation cut-offs.")
@click.option("--popular", type=click.IntRange(0), default=8, show_default=True,
              help="Show the neighbours of the N most frequent items.")  # fmt: skip
@click.option("--neighbours", type=click.IntRange(1, 100), default=8, show_default=True,
              help="Neighbours per popular item.")  # fmt: skip
@click.option("--map/--no-map", "with_map", default=True, show_default=True, help="Include the item map.")
@_map_options
@click.option("--title", help="Page title (default: the model directory's name).")
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
def report(model: Path, output: Path, tests: tuple[str, ...], train_files: tuple[str, ...], baselines: bool,
           ks: str, popular: int, neighbours: int, with_map: bool, title: str | None, force: bool,
           **opts: Any) -> None:  # fmt: skip
    """Write one self-contained HTML page about a model.

    The training summary, next-item metrics against baselines (with --test), an interactive
    map of the items, and the neighbours of the most popular items with their names. The page
    inlines everything (plotly.js included) and opens offline. The map needs the plot extra.

    \b
    item2vec report model -o report.html
    item2vec report model --test split/test.csv.gz -k 10,20 -o report.html
    """
    from item2vec.evaluate import parse_ks
    from item2vec.html_report import make_report
    from item2vec.store import load

    path = make_report(
        load(model), output, title=title or f"Model {model.resolve().name}", tests=tests,
        train_files=train_files, baselines=baselines, ks=parse_ks(ks), popular=popular,
        neighbours=neighbours, map_options=_map_kwargs(opts) if with_map else None, force=force,
    )  # fmt: skip
    click.echo(f"wrote {path}", err=True)


# --- recall at scale: index, recommend, serve -----------------------------------------------------


def _approx(embeddings: Embeddings, model: Path, approx: bool) -> Embeddings:
    """With --approx, make the embeddings answer from the model's stored index."""
    if approx:
        from item2vec.index import attach

        attach(embeddings, model)
    return embeddings


def _similar_all(model: Path, k: int, *, approx: bool, output: Path | None, force: bool, extra: bool) -> None:
    from item2vec.recommend import neighbour_table
    from item2vec.store import load

    if extra or output is None:
        raise click.UsageError("--all takes no ITEM or --title, and needs -o FILE (.parquet, .csv or .tsv)")
    summary = neighbour_table(_approx(load(model), model, approx), output, k=k, force=force)
    click.echo(summary.line("items"), err=True)


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
    from item2vec.index import IndexParams
    from item2vec.index_check import build_and_store

    click.echo(f"building a {params['kind']} index of {model}", err=True)
    report = build_and_store(model, IndexParams(**params), check=sample if check else 0)
    click.echo(render_record(report, fmt), nl=False)


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
@output_format
def recommend(model: Path, items: tuple[str, ...], history: tuple[str, ...], events: tuple[str, ...], decay: float,
              history_size: int, keep_seen: bool, k: int, approx: bool, output: Path | None, force: bool,
              fmt: str, **cols: Any) -> None:  # fmt: skip
    """Recommend items from a history: the decayed mean of the user's recent items.

    Items already in the history are left out unless --keep-seen. With --events, every user of
    an event log gets k candidates, written as a table (user, rank, item, score) in batches.

    \b
    item2vec recommend model --history 22423 85123A 47566 -k 5
    item2vec recommend model --events events.csv --user-col CustomerID -k 100 -o candidates.parquet
    """
    from item2vec.recommend import event_columns, recommend_events
    from item2vec.recommend import recommend as from_history
    from item2vec.store import load

    if events and (history or items or output is None):
        raise click.UsageError(
            "--events takes no ITEM or --history, and needs -o FILE (.parquet, .csv or .tsv)"
        )
    if not events and not history and not items:
        raise click.UsageError("give the history: --history ITEM... ('-' reads stdin), or --events FILE")
    embeddings = _approx(load(model), model, approx)
    if events:
        input_format = cols.pop("input_format")
        columns = event_columns(embeddings.meta, where=tuple(cols.pop("where")), **cols)
        summary = recommend_events(embeddings, list(events), output, columns=columns, k=k, decay=decay,  # type: ignore[arg-type]
                                   history_size=history_size, keep_seen=keep_seen, input_format=input_format,
                                   force=force)  # fmt: skip
        return click.echo(summary.line("users"), err=True)
    found = from_history(embeddings, _read_items(history + items), k, decay=decay, history_size=history_size,
                         keep_seen=keep_seen)  # fmt: skip
    for note in found.notes:
        click.echo(note, err=True)
    rows = [n.as_row(bool(embeddings.names)) for n in found.neighbours]
    click.echo(render(rows, fmt, columns=[c for c in rows[0] if c != "query"] if rows else None), nl=False)


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
    {"history": [...]}, GET /items/ID, GET /health; OpenAPI docs at /docs. The model is
    memory-mapped and never written. Needs the serve extra: pip install 'item2vec[serve]'.

    \b
    item2vec serve model --port 8000
    curl 'http://127.0.0.1:8000/similar?item=85123A&k=5'
    """
    from item2vec.server import serve as run

    click.echo(f"serving {model} at http://{host}:{port} (docs: /docs); Ctrl-C stops", err=True)
    run(model, host=host, port=port, workers=workers, approx=approx)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="item2vec")
