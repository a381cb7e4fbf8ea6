"""Training parameters: the typed config, the presets, and ``--config`` TOML files."""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from item2vec.errors import ConfigError, check_choice, param

if TYPE_CHECKING:
    pass

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

Context = Literal["window", "set"]
CorpusMode = Literal["auto", "stream", "file"]
Preset = Literal["recsys", "text"]
SEED_MAX = 2**32 - 1  # numpy's and gensim's random generators take seeds up to this

# gensim's Word2Vec names for our parameters: aliases in the Python API, hints on the command line
# (gensim's other names are ours: window, min_count, negative, sample, ns_exponent, workers, seed,
# epochs, alpha).
GENSIM_NAMES = {"vector_size": "dim", "size": "dim", "iter": "epochs", "max_final_vocab": "max_vocab"}
# fastText's and the word2vec C tool's names for our parameters (hints on the command line only):
# name -> (our parameter, the tool). Their names that are ours (dim, window, alpha, ...) are hinted
# too when written their way (-dim, -min-count).
OTHER_TOOL_NAMES = {
    "epoch": ("epochs", "fastText"),
    "ws": ("window", "fastText"),
    "minCount": ("min_count", "fastText"),
    "neg": ("negative", "fastText"),
    "lr": ("alpha", "fastText"),
    "thread": ("workers", "fastText"),
    "threads": ("workers", "word2vec"),
}

# Defaults chosen for items (recsys) and for words (text). The figures that chose them are in
# docs/presets.md; every value can be overridden by a flag or by --config.
PRESETS: dict[str, dict[str, Any]] = {
    "recsys": {
        "dim": 64,
        "window": 8,
        "negative": 10,
        "ns_exponent": 0.0,
        "sample": 1e-4,
        "epochs": 25,
        "min_count": 1,  # every item: on eight logs never worse than 3, better wherever items are rare
        "alpha": 0.05,
    },
    "text": {
        "dim": 100,
        "window": 5,
        "negative": 5,
        "ns_exponent": 0.75,
        "sample": 1e-4,
        "epochs": 10,
        "min_count": 5,
        "alpha": 0.025,
    },
}


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _help(text: str) -> dict[str, str]:
    """A TrainConfig field's metadata: its one-line help (the CLI's option help; a parameter is
    named with :func:`~item2vec.errors.param`, which the edge spells)."""
    return {"help": text}


@dataclass(frozen=True)
class TrainConfig:
    """Skip-gram with negative sampling parameters, validated on creation.

    Each field is one training parameter everywhere: ``train``'s option of the same name (its help
    is the field's ``help`` metadata), ``item2vec.train``'s keyword argument, a ``--config`` key and
    model.json's ``params`` (a test fails when an edge lacks one). Fields are in the order
    ``train --help`` lists them.
    """

    preset: Preset = field(
        default="recsys", metadata=_help("Defaults: recsys for events/sequences, text for text.")
    )
    context: Context = field(
        default="window", metadata=_help("window: ordered skip-gram; set: whole basket, order ignored.")
    )
    dim: int = field(default=64, metadata=_help("Vector dimensions."))
    window: int = field(default=8, metadata=_help("Context window (items each side)."))
    negative: int = field(default=10, metadata=_help("Negative samples per positive."))
    ns_exponent: float = field(
        default=0.0, metadata=_help("Negative-sampling exponent (-1 to 1; 0.75 for text).")
    )
    sample: float = field(
        default=1e-4, metadata=_help("Down-sampling threshold for frequent items (0 = off).")
    )
    epochs: int = field(default=25, metadata=_help("Passes over the corpus."))
    min_count: int = field(default=1, metadata=_help(
        "Ignore items with fewer occurrences (recsys default: 1, every item; text: 5)."
    ))  # fmt: skip
    max_vocab: int | None = field(
        default=None, metadata=_help("Keep at most this many items (raises min-count).")
    )
    alpha: float = field(default=0.05, metadata=_help("Initial learning rate."))
    workers: int = field(
        default_factory=default_workers, metadata=_help("Training threads (default: all cores).")
    )
    seed: int = field(
        default=1, metadata=_help(f"Random seed; with {param('workers', 1)} runs repeat exactly.")
    )
    corpus_mode: CorpusMode = field(default="auto", metadata=_help(
        "Feed gensim from memory (stream) or a temporary corpus file (file); auto picks by size and workers."
    ))  # fmt: skip

    def __post_init__(self) -> None:
        for name, minimum in (("dim", 1), ("window", 1), ("negative", 1), ("epochs", 1), ("min_count", 1),
                              ("workers", 1)):  # fmt: skip
            _check_int(name, getattr(self, name), minimum)
        _check_int("seed", self.seed, 0, SEED_MAX)
        if self.max_vocab is not None:
            _check_int("max_vocab", self.max_vocab, 1)
        if not math.isfinite(self.ns_exponent) or abs(self.ns_exponent) > 2:
            _out_of_range("ns_exponent", self.ns_exponent, "a value between -2 and 2")
        if not 0 <= self.sample < 1:
            _out_of_range("sample", self.sample, "0 (off) up to 0.1")
        if not 0 < self.alpha <= 1:
            _out_of_range("alpha", self.alpha, "a value in (0, 1]")
        check_choice("context", self.context, ("window", "set"), quoted=True)
        check_choice("corpus_mode", self.corpus_mode, ("auto", "stream", "file"), quoted=True)
        check_choice("preset", self.preset, tuple(PRESETS))

    @classmethod
    def from_preset(cls, preset: str, **overrides: Any) -> TrainConfig:
        """The preset's values, then every override that is not None."""
        check_choice("preset", preset, tuple(PRESETS))
        values = dict(PRESETS[preset], preset=preset)
        known = set(field_names())
        for key, value in overrides.items():
            if key not in known:
                raise ConfigError(f"unknown training parameter {key!r}", param=key)
            if value is not None:
                values[key] = value
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for model.json."""
        return dataclasses.asdict(self)

    def gensim_params(self) -> dict[str, Any]:
        """gensim ``Word2Vec``'s keyword arguments for these parameters: skip-gram (``sg=1``) with
        negative sampling (``hs=0``); the window shrinks at random for ordered context only."""
        return {
            "sg": 1, "hs": 0, "vector_size": self.dim, "window": self.window, "negative": self.negative,
            "ns_exponent": self.ns_exponent, "sample": self.sample, "min_count": self.min_count,
            "max_final_vocab": self.max_vocab, "alpha": self.alpha, "seed": self.seed, "workers": self.workers,
            "epochs": self.epochs, "shrink_windows": self.context == "window",
        }  # fmt: skip

    def mllib_params(self) -> dict[str, Any]:
        """Spark MLlib ``Word2Vec``'s parameters for these (hierarchical softmax: it has no
        ``negative``, ``ns_exponent``, ``sample`` or ``max_vocab``; workers are Spark's)."""
        return {
            "vectorSize": self.dim, "windowSize": self.window, "minCount": self.min_count,
            "maxIter": self.epochs, "stepSize": self.alpha, "seed": self.seed,
        }  # fmt: skip


def field_names() -> list[str]:
    """TrainConfig's fields: the training parameters, in ``train --help``'s order."""
    return [f.name for f in dataclasses.fields(TrainConfig)]


def field_help(name: str) -> str:
    """The one-line help of TrainConfig's field ``name`` (parameters marked with ``param``)."""
    help_text: str = next(f for f in dataclasses.fields(TrainConfig) if f.name == name).metadata["help"]
    return help_text


def _out_of_range(name: str, value: object, expected: str) -> None:
    raise ConfigError(
        f"{param(name, value)} is out of range: use {expected}", param=name, value=value, expected=expected
    )


def _check_int(name: str, value: int, minimum: int, maximum: int | None = None) -> None:
    wrong = isinstance(value, bool) or not isinstance(value, int) or value < minimum
    if wrong or (maximum is not None and value > maximum):
        bound = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
        expected = f"a whole number {bound}"
        raise ConfigError(
            f"{param(name, value)} is invalid: use {expected}", param=name, value=value, expected=expected
        )


def load_config_file(
    path: Path,
    allowed: set[str],
    *,
    command: str = "train",
    commands: Collection[str] = ("train",),
    borrowed: Collection[str] | None = None,
    ignored: Collection[str] = (),
    aliases: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Read a ``--config`` TOML file into option defaults for ``command``.

    Keys are spelled as the options are (``min-count`` or ``min_count``; ``allowed`` is the set
    of the command's option names, underscored) and sit at the top level, under ``[train]``
    (what ``tune`` writes) or under ``[COMMAND]``; the command's own table wins over ``[train]``,
    which wins over the top level. For a command other than train, the top level and ``[train]``
    are shared: a key of ``borrowed`` (default: ``allowed``) is taken, one of ``ignored`` (another
    command's option, such as train's ``dim`` for ``evaluate``) is skipped. Tables named after other
    ``commands`` are skipped. A key of ``aliases`` (another spelling, underscored) is read as the
    name it maps to, and is not listed among the valid options.

    Raises:
        ConfigError: the file is missing, is not valid TOML, names an unknown table, or names an
            option that neither this command nor (in a shared table) train has.
    """
    data = _read_toml(path)
    tables = {name: data.pop(name) for name in [k for k, v in data.items() if isinstance(v, dict)]}
    unknown = sorted(set(tables) - set(commands))
    if unknown:
        known = ", ".join(f"[{c}]" for c in sorted(commands))
        raise ConfigError(f"config file {str(path)!r}: unknown table [{unknown[0]}]; use one of {known}")
    own = command == "train"
    result: dict[str, Any] = {}
    for table, values in (("", data), ("train", tables.get("train", {})), (command, tables.get(command, {}))):
        shared = not own and table in ("", "train")
        for key, value in values.items():
            name = key.replace("-", "_")
            name = (aliases or {}).get(name, name)
            if name in (allowed if not shared else set(borrowed if borrowed is not None else allowed)):
                result[name] = value
            elif not shared or name not in ignored:
                valid = ", ".join(sorted(k.replace("_", "-") for k in allowed))
                where = f"[{table}] " if table else ""
                raise ConfigError(
                    f"config file {str(path)!r}: {where}unknown option {key!r}; valid options: {valid}"
                )
    return result


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
