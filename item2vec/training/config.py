"""Training parameters: the typed config, the presets, and ``--config`` TOML files."""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from item2vec.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

Context = Literal["window", "set"]
CorpusMode = Literal["auto", "stream", "file"]
PRESETS_NAMES = ("recsys", "text")
SEED_MAX = 2**32 - 1  # numpy's and gensim's random generators take seeds up to this

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
        "min_count": 3,
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


# The recsys preset's min-count follows the log's item-count profile (docs/presets.md): items with
# fewer than RARE_EVENTS events fall back to popularity when dropped, which costs nothing on a dense
# log (0.03-0.3% of events on the five logs measured: 3 kept) and most of the accuracy on a sparse
# one (a product-view log went from 0.012 to 0.128 HR@10 with min-count 1), so when they hold
# RARE_SHARE of the events or more, every item is kept.
PROFILE_PRESETS = ("recsys",)
RARE_EVENTS = 3
RARE_SHARE = 0.05


def profile_min_count(counts: Sequence[int] | NDArray[np.int64], preset_value: int) -> tuple[int, float]:
    """The min-count for a log whose items have ``counts`` events, and the share of rare events.

    ``preset_value`` when items with fewer than ``RARE_EVENTS`` events hold less than
    ``RARE_SHARE`` of all events; 1 (keep every item) when they hold more.
    """
    import numpy as np

    values = np.asarray(counts, dtype=np.int64)
    total = int(values.sum())
    share = float(values[values < RARE_EVENTS].sum()) / total if total else 0.0
    return (1 if share >= RARE_SHARE else preset_value), share


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class TrainConfig:
    """Skip-gram with negative sampling parameters, validated on creation."""

    dim: int = 64
    window: int = 8
    negative: int = 10
    ns_exponent: float = 0.0
    sample: float = 1e-4
    epochs: int = 25
    min_count: int = 3
    max_vocab: int | None = None
    alpha: float = 0.05
    workers: int = field(default_factory=default_workers)
    seed: int = 1
    context: Context = "window"
    preset: str = "recsys"
    corpus_mode: CorpusMode = "auto"

    def __post_init__(self) -> None:
        _check_int("dim", self.dim, 1)
        _check_int("window", self.window, 1)
        _check_int("negative", self.negative, 1)
        _check_int("epochs", self.epochs, 1)
        _check_int("min-count", self.min_count, 1)
        _check_int("workers", self.workers, 1)
        _check_int("seed", self.seed, 0, SEED_MAX)
        if self.max_vocab is not None:
            _check_int("max-vocab", self.max_vocab, 1)
        if not math.isfinite(self.ns_exponent) or abs(self.ns_exponent) > 2:
            raise ConfigError(
                f"--ns-exponent {self.ns_exponent} is out of range: use a value between -2 and 2"
            )
        if not 0 <= self.sample < 1:
            raise ConfigError(f"--sample {self.sample} is out of range: use 0 (off) up to 0.1")
        if not 0 < self.alpha <= 1:
            raise ConfigError(f"--alpha {self.alpha} is out of range: use a value in (0, 1]")
        if self.context not in ("window", "set"):
            raise ConfigError(f"--context {self.context!r} is unknown: use 'window' or 'set'")
        if self.corpus_mode not in ("auto", "stream", "file"):
            raise ConfigError(
                f"--corpus-mode {self.corpus_mode!r} is unknown: use 'auto', 'stream' or 'file'"
            )
        if self.preset not in PRESETS:
            raise ConfigError(f"--preset {self.preset!r} is unknown: use one of {PRESETS_NAMES}")

    @classmethod
    def from_preset(cls, preset: str, **overrides: Any) -> TrainConfig:
        """The preset's values, then every override that is not None."""
        if preset not in PRESETS:
            raise ConfigError(f"--preset {preset!r} is unknown: use one of {', '.join(PRESETS)}")
        values = dict(PRESETS[preset], preset=preset)
        known = {f.name for f in dataclasses.fields(cls)}
        for key, value in overrides.items():
            if key not in known:
                raise ConfigError(f"unknown training parameter {key!r}")
            if value is not None:
                values[key] = value
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for model.json."""
        return dataclasses.asdict(self)


def _check_int(name: str, value: int, minimum: int, maximum: int | None = None) -> None:
    wrong = isinstance(value, bool) or not isinstance(value, int) or value < minimum
    if wrong or (maximum is not None and value > maximum):
        bound = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigError(f"--{name} {value!r} is invalid: use a whole number {bound}")


def load_config_file(
    path: Path,
    allowed: set[str],
    *,
    command: str = "train",
    commands: Collection[str] = ("train",),
    borrowed: Collection[str] | None = None,
    ignored: Collection[str] = (),
) -> dict[str, Any]:
    """Read a ``--config`` TOML file into option defaults for ``command``.

    Keys are spelled as the options are (``min-count`` or ``min_count``; ``allowed`` is the set
    of the command's option names, underscored) and sit at the top level, under ``[train]``
    (what ``tune`` writes) or under ``[COMMAND]``; the command's own table wins over ``[train]``,
    which wins over the top level. For a command other than train, the top level and ``[train]``
    are shared: a key of ``borrowed`` (default: ``allowed``) is taken, one of ``ignored`` (another
    command's option, such as train's ``dim`` for ``evaluate``) is skipped. Tables named after other
    ``commands`` are skipped.

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
