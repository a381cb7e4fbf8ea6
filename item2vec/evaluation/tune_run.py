"""``item2vec tune`` as one job: read TRAIN and VALID, search, write the best configuration, train.

The configuration is TOML that ``train --config`` reads; the final model is trained on both files.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from item2vec.corpus.options import SessionOptions
from item2vec.corpus.packed import Corpus, CorpusStats
from item2vec.corpus.sequences import read_sequences
from item2vec.errors import flag_name
from item2vec.evaluation.eval_inputs import MERGED, merge_validation, sample_sequences
from item2vec.evaluation.tune import TrialCallback, TuneOptions, TuneResult, search, train_values
from item2vec.files import atomic_bytes, check_writable
from item2vec.training.gensim_engine import ProgressCallback
from item2vec.training.pipeline import ReadInput, train_and_save
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
) -> TuneResult:
    """Read TRAIN and VALID, search, write the best configuration as TOML, train the final model.

    The final model (``output``) is trained on TRAIN and VALID merged, with the best
    configuration; model.json records both inputs so ``evaluate`` can rebuild its baselines.
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
    result = search(
        sample_sequences(train_corpus.sequences, fraction, seed),
        sample_sequences(valid_corpus.sequences, fraction, seed, held_out=True),
        options=options,
        report=report,
    )
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
        request = TrainRequest(config=result.config, session=session, scoring=result.scoring)
        result.model = train_and_save(read, request=request, output=output, force=force, progress=progress)
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
