"""``item2vec.train`` and ``item2vec.load``: a :class:`~item2vec.api.model.Model` in one line.

``train`` turns its keyword parameters into the one ``TrainRequest`` the CLI also builds
(:mod:`item2vec.api.params`), reads its data by the CLI's code (:mod:`item2vec.api.data`) and
trains with the CLI's pipeline (:func:`item2vec.training.pipeline.build_model`), in memory:
``Model.save`` writes the same model directory ``item2vec train`` writes.
"""

from __future__ import annotations

import time as clock
from collections.abc import Iterable, Mapping
from pathlib import Path

from item2vec.api.data import item_names, read_data
from item2vec.api.errors import in_python_terms
from item2vec.api.model import Model
from item2vec.api.params import GENSIM_NAMES, parameter_names, suggest_keywords, train_request
from item2vec.api.progress import ProgressArg, progress_display
from item2vec.corpus.options import SessionOptions, Where, parse_duration
from item2vec.model.store import load as load_embeddings
from item2vec.training.config import Context, CorpusMode, Preset, TrainConfig
from item2vec.training.holdout import Calibrator
from item2vec.training.pipeline import ReadInput, build_model
from item2vec.training.small_log import TrialJudge


@in_python_terms
@suggest_keywords
def train(
    data: object,
    *,
    config: TrainConfig | None = None,
    user: str | None = None,
    session: str | None = None,
    item: str = "item_id",
    time: str | None = None,
    session_gap: float | str | None = None,
    where: str | Iterable[str] = (),
    min_length: int = 2,
    drop_repeats: bool = True,
    items: object = None,
    id_col: str | None = None,
    title_col: str = "title",
    input_format: str | None = None,
    progress: ProgressArg = "auto",
    calibrate: bool = True,
    preset: Preset | None = None,
    context: Context | None = None,
    dim: int | None = None,
    window: int | None = None,
    negative: int | None = None,
    ns_exponent: float | None = None,
    sample: float | None = None,
    epochs: int | None = None,
    min_count: int | None = None,
    max_vocab: int | None = None,
    alpha: float | None = None,
    workers: int | None = None,
    seed: int | None = None,
    corpus_mode: CorpusMode | None = None,
    vector_size: int | None = None,
    size: int | None = None,
    iter: int | None = None,  # gensim's name (shadows the builtin here only)
    max_final_vocab: int | None = None,
) -> Model:
    """Train item embeddings and return the :class:`~item2vec.api.model.Model`, as ``item2vec train`` does.

    Many parameters: it is the public mirror of ``item2vec train``, so it takes each of its
    parameters by name (one per ``TrainConfig`` field and session option; a test keeps them in
    step), on purpose, so that IDEs and ``help()`` show them; they become one
    :class:`~item2vec.training.requests.TrainRequest` at once, which the pipeline trains.

    Args:
        data: a pandas DataFrame or pyarrow Table of events; an iterable of sequences of item
            ids (``[["a", "b"], ["b", "c"]]``; a generator is read once); or a path, or a list
            of paths, of files ``item2vec train`` reads.
        config: an ``item2vec.TrainConfig`` to train with as it is (no preset chosen by the data);
            training parameters given as well replace its fields.
        user: column of user ids (default ``user_id``, unless ``session`` is given).
        session: column of session or basket ids.
        item: column of item ids.
        time: column of times (epoch seconds or milliseconds, ISO 8601, or timestamps).
        session_gap: split a user's events on gaps longer than this: seconds, or ``"30m"``.
        where: row filters, ``"COL=VALUE"`` or ``"COL!=VALUE"``.
        min_length: drop shorter sequences.
        drop_repeats: drop consecutive repeats of an item (event tables).
        items: item names: a mapping of id to name, or a table (DataFrame or file) with
            ``id_col`` (default: ``item``) and ``title_col`` columns.
        id_col: id column of an ``items`` table.
        title_col: name column of an ``items`` table.
        input_format: for files: override format detection (``csv``, ``sequences``, ...).
        progress: ``"auto"`` (default): a progress bar (tqdm's: a widget in Jupyter, text in a
            terminal) when IPython or Jupyter runs the code or stderr is a terminal, none in
            pipes and tests; ``True``: the bar anyway; ``False`` or ``None``: none; or a
            function called with each ``Progress`` record (epoch, epochs, fraction,
            items_per_second, eta_seconds) as training goes.
        calibrate: choose the model's default scoring for ``recommend`` on held-out last items
            and then train them in, as ``item2vec train`` does (``False``: ``--no-calibrate``).
        preset: ``recsys`` or ``text``: the defaults of the parameters below (default: ``text``
            for text files, else ``recsys``).
        context: ``window`` (ordered skip-gram) or ``set`` (the whole basket, order ignored).
        dim: vector dimensions.
        window: context window (items each side).
        negative: negative samples per positive.
        ns_exponent: negative-sampling exponent (0.75 for text).
        sample: down-sampling threshold for frequent items (0: off).
        epochs: passes over the corpus.
        min_count: ignore items with fewer occurrences.
        max_vocab: keep at most this many items.
        alpha: initial learning rate.
        workers: training threads (default: all cores). With ``workers=1`` and a ``seed`` a run
            repeats exactly.
        seed: random seed.
        corpus_mode: ``auto``, ``stream`` (from memory) or ``file`` (a temporary corpus file).
        vector_size: gensim's name for ``dim`` (``size`` too); ``iter`` is ``epochs``,
            ``max_final_vocab`` is ``max_vocab``. Giving an alias and its name is a ``TypeError``.
        size: see ``vector_size``.
        iter: see ``vector_size``.
        max_final_vocab: see ``vector_size``.

    Raises:
        TypeError: an unknown parameter (the message suggests the close one), a value of the
            wrong type, or data of no kind above (a string where a sequence belongs).
        Item2VecError: as ``item2vec train`` fails (missing columns, nothing left to train on,
            values out of range), the message naming parameters as Python spells them.
    """
    started = clock.perf_counter()
    arguments = locals()
    if not isinstance(calibrate, bool):
        raise TypeError(f"calibrate must be True or False, not {type(calibrate).__name__} ({calibrate!r})")
    options, given = _session(user, session, item, time, session_gap, where, min_length, drop_repeats)
    request = train_request(
        {name: arguments[name] for name in parameter_names()}, {alias: arguments[alias] for alias in GENSIM_NAMES},
        config=config, session=options, input_format=input_format, calibrator=_calibrator() if calibrate else None,
        judge=_judge() if calibrate else None,
    )  # fmt: skip
    _check_items(items, id_col, title_col)
    with progress_display(progress) as shown:  # checked before the data is read; a bar is closed on errors
        corpus = read_data(data, options, input_format=input_format, given=given)
        names = item_names(items, id_col=id_col or item, title_col=title_col)
        built = build_model(
            ReadInput(corpus, names, clock.perf_counter() - started), request=request, progress=shown
        )
    return Model(built.embeddings, extra=built.extra, tables=built.tables, corpus=corpus.packed,
                 transitions=built.transitions)  # fmt: skip


def _calibrator() -> Calibrator:
    from item2vec.evaluation.calibrate import calibrate as chooser

    return chooser


def _judge() -> TrialJudge:
    from item2vec.evaluation.calibrate import TrialJudge as Judge

    return Judge()


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
