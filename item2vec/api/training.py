"""``item2vec.train`` and ``item2vec.load``: a :class:`~item2vec.api.model.Model` in one line.

``train`` reads its data by the CLI's code (:mod:`item2vec.api.data`), builds the training
config from the preset and the keyword parameters (:mod:`item2vec.api.params`) and trains with
the CLI's pipeline (:func:`item2vec.training.pipeline.build_model`), in memory: ``Model.save``
writes the same model directory ``item2vec train`` writes.
"""

from __future__ import annotations

import time as clock
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from item2vec.api.data import item_names, read_data
from item2vec.api.errors import in_python_terms
from item2vec.api.model import Model
from item2vec.api.params import check_params
from item2vec.corpus.options import SessionOptions, Where, parse_duration
from item2vec.model.store import load as load_embeddings
from item2vec.training.config import TrainConfig
from item2vec.training.gensim_engine import ProgressCallback
from item2vec.training.holdout import Calibrator
from item2vec.training.pipeline import build_model, preset_config

# train()'s own keyword names, offered when a misspelt one lands in **params.
KEYWORDS = (
    "user", "session", "item", "time", "session_gap", "where", "min_length", "drop_repeats",
    "preset", "items", "id_col", "title_col", "input_format", "progress", "calibrate",
)  # fmt: skip


@in_python_terms
def train(
    data: object,
    *,
    user: str | None = None,
    session: str | None = None,
    item: str = "item_id",
    time: str | None = None,
    session_gap: float | str | None = None,
    where: str | Iterable[str] = (),
    min_length: int = 2,
    drop_repeats: bool = True,
    preset: str | None = None,
    items: object = None,
    id_col: str | None = None,
    title_col: str = "title",
    input_format: str | None = None,
    progress: ProgressCallback | None = None,
    calibrate: bool = True,
    **params: Any,
) -> Model:
    """Train item embeddings and return the :class:`~item2vec.api.model.Model`, as ``item2vec train`` does.

    Args:
        data: a pandas DataFrame or pyarrow Table of events; an iterable of sequences of item
            ids (``[["a", "b"], ["b", "c"]]``; a generator is read once); or a path, or a list
            of paths, of files ``item2vec train`` reads.
        user: column of user ids (default ``user_id``, unless ``session`` is given).
        session: column of session or basket ids.
        item: column of item ids.
        time: column of times (epoch seconds or milliseconds, ISO 8601, or timestamps).
        session_gap: split a user's events on gaps longer than this: seconds, or ``"30m"``.
        where: row filters, ``"COL=VALUE"`` or ``"COL!=VALUE"``.
        min_length: drop shorter sequences.
        drop_repeats: drop consecutive repeats of an item (event tables).
        preset: ``recsys`` or ``text`` (default: ``text`` for text files, else ``recsys``).
        items: item names: a mapping of id to name, or a table (DataFrame or file) with
            ``id_col`` (default: ``item``) and ``title_col`` columns.
        id_col: id column of an ``items`` table.
        title_col: name column of an ``items`` table.
        input_format: for files: override format detection (``csv``, ``sequences``, ...).
        progress: called with a ``Progress`` record as training goes.
        calibrate: choose the model's default scoring for ``recommend`` on held-out last items
            and then train them in, as ``item2vec train`` does (``False``: ``--no-calibrate``).
        **params: training parameters, as ``item2vec.TrainConfig`` names them: ``dim``,
            ``window``, ``negative``, ``ns_exponent``, ``sample``, ``epochs``, ``min_count``,
            ``max_vocab``, ``alpha``, ``workers``, ``seed``, ``context``, ``corpus_mode``.
            With ``workers=1`` and a ``seed`` a run repeats exactly.

    Raises:
        TypeError: an unknown parameter (the message suggests the close one), a value of the
            wrong type, or data of no kind above (a string where a sequence belongs).
        Item2VecError: as ``item2vec train`` fails (missing columns, nothing left to train on,
            values out of range), the message naming parameters as Python spells them.
    """
    started = clock.perf_counter()
    checked = check_params(params, others=KEYWORDS)
    if not isinstance(calibrate, bool):
        raise TypeError(f"calibrate must be True or False, not {type(calibrate).__name__} ({calibrate!r})")
    TrainConfig.from_preset(preset or "recsys", **checked)  # values checked before the data is read
    options, given = _session(user, session, item, time, session_gap, where, min_length, drop_repeats)
    _check_items(items, id_col, title_col)
    corpus = read_data(data, options, input_format=input_format, given=given)
    chosen = preset or ("text" if corpus.stats.input_format == "text" else "recsys")
    config, profile = preset_config(chosen, checked, corpus)
    names = item_names(items, id_col=id_col or item, title_col=title_col)
    read_seconds = clock.perf_counter() - started
    built = build_model(
        corpus, config=config, session=options, names=names, read_seconds=read_seconds, progress=progress,
        input_extra=profile, calibrator=_calibrator() if calibrate else None,
    )  # fmt: skip
    return Model(built.embeddings, extra=built.extra, tables=built.tables, corpus=corpus.packed,
                 transitions=built.transitions)  # fmt: skip


def _calibrator() -> Calibrator:
    from item2vec.evaluation.calibrate import calibrate as chooser

    return chooser


@in_python_terms
def load(path: str | Path, *, mmap: bool = True) -> Model:
    """Load a model directory (written by ``item2vec train`` or ``Model.save``); never runs code.

    Args:
        path: the model directory.
        mmap: map the vectors from the file instead of reading them into memory.

    Raises:
        ModelError: the directory is missing, incomplete, corrupt, or of another format version.
    """
    return Model(load_embeddings(path, mmap=mmap), source=path)


def _session(
    user: str | None,
    session: str | None,
    item: str,
    time: str | None,
    gap: float | str | None,
    where: str | Iterable[str],
    min_length: int,
    drop_repeats: bool,
) -> tuple[SessionOptions, list[str]]:
    """The session options, and the names of those set to something other than the default."""
    for name, value in (("user", user), ("session", session), ("item", item), ("time", time)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be a column name (str), not {type(value).__name__} ({value!r})")
    filters = (where,) if isinstance(where, str) else tuple(where)
    seconds = parse_duration(gap) if isinstance(gap, str) else gap
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))):
        raise TypeError(f"session_gap must be seconds or a duration such as '30m', not {type(gap).__name__}")
    if isinstance(min_length, bool) or not isinstance(min_length, int):
        raise TypeError(f"min_length must be a whole number (int), not {type(min_length).__name__}")
    options = SessionOptions(
        item_col=item,
        user_col=user or (None if session else "user_id"),
        session_col=session,
        time_col=time,
        session_gap=float(seconds) if seconds is not None else None,
        drop_repeats=bool(drop_repeats),
        min_length=min_length,
        where=tuple(Where.parse(_filter(w)) for w in filters),
    )
    defaults = {"user": None, "session": None, "item": "item_id", "time": None, "session_gap": None,
                "where": (), "drop_repeats": True}  # fmt: skip
    values = {"user": user, "session": session, "item": item, "time": time, "session_gap": gap,
              "where": filters, "drop_repeats": drop_repeats}  # fmt: skip
    return options, [name for name, value in values.items() if value != defaults[name]]


def _filter(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"where takes filters such as 'country=UK', not {type(text).__name__} ({text!r})")
    return text


def _check_items(items: object, id_col: str | None, title_col: str) -> None:
    if (items is None or isinstance(items, Mapping)) and (id_col is not None or title_col != "title"):
        raise TypeError("id_col and title_col name the columns of an items table or file: give one as items=")
