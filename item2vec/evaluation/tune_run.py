"""``item2vec tune`` as one job: read TRAIN and VALID, search, write the best configuration, train.

The configuration is TOML that ``train --config`` reads; the final model is trained on both files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from item2vec.corpus.options import SessionOptions
from item2vec.corpus.packed import Corpus, CorpusStats
from item2vec.corpus.sequences import read_sequences
from item2vec.errors import flag_name
from item2vec.evaluation.eval_inputs import MERGED, merge_validation, sample_sequences
from item2vec.evaluation.knn_tune import BASELINES_KEY, baselines_record, tune_knn
from item2vec.evaluation.tune import TrialCallback, TuneOptions, TuneResult, search, train_values
from item2vec.files import atomic_bytes, check_writable
from item2vec.model.store import save
from item2vec.training.gensim_engine import ProgressCallback
from item2vec.training.pipeline import ReadInput, build_model
from item2vec.training.requests import TrainRequest


def run_tune(
    train_input: str,
    valid_input: str,
    *,
    session: SessionOptions,
    options: TuneOptions,
    input_format: str | None = None,
    config_out: Path | None = None,
    output: Path | None = None,
    force: bool = False,
    report: TrialCallback | None = None,
    progress: ProgressCallback | None = None,
    searched: Callable[[TuneResult], None] | None = None,
) -> TuneResult:
    """Read TRAIN and VALID, search, tune the session-kNN baselines, write the best configuration
    as TOML, train the final model.

    After the search (unless ``options.baselines`` is off or the search was interrupted), SKNN,
    V-SKNN and STAN are tuned on the same validation cases, fitted on TRAIN
    (:func:`~item2vec.evaluation.knn_tune.tune_knn`); ``searched`` is then handed the result,
    before the final model is trained. The final model (``output``) is trained on TRAIN and VALID
    merged, with the best configuration; model.json records both inputs so ``evaluate`` can
    rebuild its baselines, and the kNN choices as its "baselines" record. The TOML holds only
    train's options: ``train --config`` has no key for the baselines.

    Many parameters: the inputs, the search, both outputs and the callbacks of the command.
    """
    if output is not None:
        from item2vec.model.store import check_output

        check_output(output, force=force)
    if config_out is not None:
        check_writable(config_out)  # before the search, not after it
    started = time.perf_counter()
    train_corpus = read_sequences([train_input], session, input_format)
    valid_corpus = read_sequences([valid_input], session, input_format)
    fraction, seed = options.sample, options.seed
    train_seqs = sample_sequences(train_corpus.sequences, fraction, seed)
    valid_seqs = sample_sequences(valid_corpus.sequences, fraction, seed, held_out=True)
    result = search(train_seqs, valid_seqs, options=options, report=report)
    if options.baselines and not result.interrupted:
        try:
            result.baselines = tune_knn(train_seqs, valid_seqs, query=options.query, metric=options.metric)
        except KeyboardInterrupt:
            result.interrupted = True  # keep the search's best; no baseline is half chosen
    if searched is not None:
        searched(result)
    if config_out is not None:
        atomic_bytes(config_out, config_toml(result, session, valid_input).encode("utf-8"))
    if output is not None:
        merged = merge_validation(train_corpus.sequences, valid_corpus.sequences)
        stats = CorpusStats(
            input_format=train_corpus.stats.input_format,
            inputs=[train_input, valid_input],
            events_read=train_corpus.stats.events_read + valid_corpus.stats.events_read,
            sessions=len(merged),
            tokens=sum(len(s) for s in merged),
        )
        read = ReadInput(
            Corpus(merged, stats), read_seconds=time.perf_counter() - started, extra={MERGED: True}
        )
        from item2vec.evaluation.calibrate import calibrate

        # the search chose the mode: calibration keeps it and chooses how whole histories are scored
        request = TrainRequest(
            config=result.config, session=session, scoring=result.scoring, calibrator=calibrate
        )
        built = build_model(read, request=request, progress=progress)
        if result.baselines:
            built.embeddings.meta[BASELINES_KEY] = baselines_record(
                result.baselines, metric=result.metric, query=options.query, cases=result.valid_cases,
                model=result.best_value,
            )  # fmt: skip
        save(built.embeddings, output, force=force, extra=built.extra, tables=built.tables,
             transitions=built.transitions)  # fmt: skip
        result.model = built.summary(output)
    return result


def config_toml(result: TuneResult, session: SessionOptions, valid_name: str) -> str:
    """The best configuration as a ``[train]`` table that ``item2vec train --config`` reads."""
    values = train_values(result.config)
    for key in ("item_col", "user_col", "session_col", "time_col", "delimiter"):
        if getattr(session, key):
            values[key.replace("_", "-")] = getattr(session, key)
    if session.session_gap is not None:
        values["session-gap"] = f"{session.session_gap:g}s"
    values["drop-repeats"] = session.drop_repeats
    values["min-length"] = session.min_length
    if session.where:
        values["where"] = [str(w) for w in session.where]
    values.update({key.replace("_", "-"): value for key, value in result.scoring.items()})
    head = (
        f"# item2vec tune: best {result.metric} = {result.best_value:.4f} on {valid_name} "
        f"({len(result.trials)} trials)\n# item2vec train TRAIN {flag_name('config', 'THIS_FILE')} -o MODEL\n[train]\n"
    )
    return head + "".join(f"{key} = {_toml_value(value)}\n" for key, value in values.items())


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)
