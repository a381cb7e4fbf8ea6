"""Is it any good: evaluate, tune."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from item2vec.cli.base import (
    cli,
    cutoff_options,
    cutoffs,
    output_format,
    progress_callback,
    quiet_option,
    renamed,
    say,
    score_options,
)
from item2vec.cli.config_file import config_option
from item2vec.cli.input_options import duration_option, session_from_options, session_options, session_values
from item2vec.cli.signals import EXIT_INTERRUPTED
from item2vec.render import render_record, render_sections

EVAL_SCORE_HELP = (
    "Rank with this score mode (repeatable; default: every mode the model has, its default first)."
)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("tests", nargs=-1, metavar="[TEST]...")
@cutoff_options
@click.option(
    "--query",
    type=click.Choice(["last", "history", "both"]),
    default="both",
    show_default=True,
    help="The protocol: the query is the item before each target (last), the whole history before "
    "it (history: the model queries as recommend does, seen items as its scoring says), or both.",
)
@renamed(
    "--history-size", old="--history", type=click.IntRange(1), default=5, show_default=True, metavar="N",
    help="Items of a history the model's query uses (recommend's --history-size).",
)  # fmt: skip
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
    help="Also score most-popular, co-occurrence and sequential rules on the training data.",
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
    metavar="[PROTOCOL:]METRIC=VALUE",
    help="Exit 3 (after the table) when the model's METRIC is below VALUE (hr@10=0.2), under every "
    "protocol computed or the one named (history:hr@10=0.2); repeatable.",
)
@config_option
@score_options(EVAL_SCORE_HELP, multiple=True)
@session_options(inherit=True)
@output_format
@quiet_option
def evaluate(model: Path, tests: tuple[str, ...], k: tuple[tuple[int, ...], ...], ks: str | None, query: str,
             history_size: int, train_files: tuple[str, ...], baselines: bool, analogies: Path | None,
             pairs: Path | None, fail_under: tuple[str, ...], fmt: str, score: tuple[str, ...],
             hybrid_weight: float | None, hybrid_base: str | None, **opts: Any) -> None:  # fmt: skip
    """Measure a model: next-item accuracy against baselines, analogies, word pairs.

    Each TEST sequence's last item is the target and the items before it the history (the
    valid and test files of 'item2vec split'). Two protocols, each row saying which: the query
    is the item before the target (last), or the whole history (history). The model ranks the
    whole catalogue for every case, one row per score mode (--score); most-popular,
    co-occurrence, sequential rules and session-kNN (SKNN, V-SKNN, STAN), counted on the
    model's own training data, are scored the same way, and a note on stderr says which method
    won. HR, NDCG and MRR at each cut-off, catalogue coverage, and the share of cold targets
    (not in the model). Test files are read as the model's training data was. --fail-under
    checks the first model row of each protocol. Exit status: 0, 3 when a --fail-under bar is
    missed, 1 on an error.

    \b
    item2vec evaluate model split/test.csv.gz --ks 10,20
    item2vec evaluate model split/test.csv.gz --score hybrid --fail-under history:hr@10=0.2 -f json
    item2vec evaluate text-model --analogies questions-words.txt --pairs wordsim353.tsv
    """
    from item2vec.evaluation.eval_inputs import thresholds_met
    from item2vec.evaluation.evaluate import parse_gate
    from item2vec.evaluation.runner import EvaluateRequest, read_files, run_evaluation
    from item2vec.model.store import load
    from item2vec.query.scoring import open_parts

    if not tests and analogies is None and pairs is None:
        raise click.UsageError("give TEST files, --analogies FILE or --pairs FILE")
    chosen = cutoffs(k, ks)
    bars = [parse_gate(text, chosen) for text in fail_under]
    input_format = opts.pop("input_format")
    embeddings = load(model)
    request = EvaluateRequest(
        test=read_files(tests, input_format) if tests else None, train=read_files(train_files) if train_files else None,
        session_overrides=session_values(opts), baselines=baselines, ks=chosen, query=query,  # type: ignore[arg-type]
        history=history_size, analogies=analogies, pairs=pairs, parts=open_parts(embeddings, model), scores=score,
        hybrid_weight=hybrid_weight, hybrid_base=hybrid_base,
    )  # fmt: skip
    evaluation = run_evaluation(embeddings, request=request)
    for note in evaluation.notes:
        say(f"note: {note}")
    click.echo(render_sections(evaluation.sections, fmt), nl=False)
    thresholds_met(evaluation, bars)


@cli.command()
@click.argument("train_file", metavar="TRAIN")
@click.argument("valid_file", metavar="VALID")
@click.option(
    "--metric", default="ndcg@10", show_default=True, help="Maximise this on VALID: hr@K, ndcg@K or mrr@K."
)
@click.option("--trials", type=click.IntRange(1), default=30, show_default=True, help="How many trials.")
@click.option("--timeout", callback=duration_option, help="Start no trial after this long (20m, 1h).")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the search and of training.")
@renamed(
    "--fraction", old="--sample", type=click.FloatRange(0, 1, min_open=True), default=1.0, show_default=True,
    metavar="F", help="Tune on this share of the sequences; the final model uses all.",
)  # fmt: skip
@click.option(
    "--query",
    type=click.Choice(["last", "history"]),
    default="last",
    show_default=True,
    help="How validation cases are queried (as in evaluate).",
)
@renamed(
    "--history-size", old="--history", type=click.IntRange(1), default=5, show_default=True, metavar="N",
    help="Items in a --query history.",
)  # fmt: skip
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
@click.option("--min-count", type=click.IntRange(1), help="Fix min-count instead of searching it (1 to 10).")
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
@click.option(
    "--baselines/--no-baselines",
    default=True,
    show_default=True,
    help="After the search, tune SKNN, V-SKNN and STAN on VALID too, to compare (recorded in model.json).",
)
@config_option
@score_options("Try only this score mode (repeatable; default: similar, next and hybrid).", multiple=True)
@session_options(inherit=False)
@quiet_option
@output_format
def tune(train_file: str, valid_file: str, metric: str, trials: int, timeout: float | None, seed: int,
         fraction: float, query: str, history_size: int, preset: str, fix: tuple[str, ...], min_count: int | None,
         workers: int | None, save_config: Path, output: Path | None, force: bool, baselines: bool, fmt: str,
         score: tuple[str, ...], hybrid_weight: float | None, hybrid_base: str | None,
         **opts: Any) -> None:  # fmt: skip
    """Search training parameters and a score mode that maximise a next-item metric on validation data.

    Optuna's TPE sampler searches dim, window, negative, ns-exponent, sample, epochs, alpha,
    min-count and context, training on TRAIN and scoring VALID (never the test data); each
    trial is scored in every score mode (hybrid on both bases, at several weights) and keeps
    its best. Trial 0 is the preset; hopeless trials are pruned. The TOML records the winner's
    score mode, so a model trained from it recommends that way. Then SKNN, V-SKNN and STAN are
    tuned on the same validation cases (a small grid each) and shown beside the best trial; the
    model records their parameters for evaluate. Ctrl-C stops the search, writes the best so far
    and exits 130. Needs the tune extra: pip install 'item2vec[tune]'.

    \b
    item2vec tune split/train.csv.gz split/valid.csv.gz --trials 30 --fraction 0.2 \\
        --user-col CustomerID --item-col StockCode --time-col InvoiceDate -o model
    item2vec train events.csv --config best.toml -o model
    """
    from item2vec.evaluation.tune import TuneOptions, parse_fixed
    from item2vec.evaluation.tune_run import run_tune
    from item2vec.evaluation.tune_table import baselines_table, trial_header, trial_line

    if save_config.exists() and not force:
        raise click.UsageError(f"{save_config} exists: use --force to replace it, or --save-config FILE")
    fixed = {**parse_fixed(list(fix)), "min_count": min_count, "workers": workers}
    options = TuneOptions(metric=metric, trials=trials, timeout=timeout, seed=seed, sample=fraction,
                          query=query, history=history_size, preset=preset,  # type: ignore[arg-type]
                          fixed={k: v for k, v in fixed.items() if v is not None}, scores=score,
                          hybrid_weight=hybrid_weight, hybrid_base=hybrid_base, baselines=baselines)  # fmt: skip
    lines = iter([trial_header(metric)])

    def report(trial: Any) -> None:
        say("".join(f"{head}\n" for head in lines) + trial_line(trial))

    def searched(r: Any) -> None:  # the session-kNN methods tuned on VALID, beside the best trial
        if r.baselines:
            say(baselines_table(r.metric, r.valid_cases, r.best_value, r.best_label, r.baselines))

    input_format = opts.pop("input_format")
    result = run_tune(
        train_file, valid_file, session=session_from_options(opts), options=options, input_format=input_format,
        config_out=save_config, output=output, force=force, report=report, progress=progress_callback(),
        searched=searched,
    )  # fmt: skip
    say(f"wrote {save_config}" + (f" and model {output}" if output else ""))
    click.echo(render_record(result.as_record(), fmt), nl=False)
    if result.interrupted:
        click.echo("Interrupted: kept the best trial so far.", err=True)
        click.get_current_context().exit(EXIT_INTERRUPTED)
