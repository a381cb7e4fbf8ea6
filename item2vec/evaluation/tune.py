"""Search training parameters with Optuna (TPE), maximising a next-item metric on validation data.

The search trains on TRAIN and scores the validation sequences (last item = target). It
never reads test data. Besides the training parameters it searches min-count (TPE), and the
score mode and hybrid weight (every trial is scored in each of them: ``tune_modes``). Trial 0
is the preset itself, so the best found is never worse than the preset on the validation data. Hopeless trials stop early: the metric is measured at a
quarter, half and three quarters of the epochs and a trial below the median of earlier trials
at the same point is pruned. Ctrl-C ends the search and keeps the best trial so far.

With ``sample`` below 1 the search runs on that share of the sequences (chosen by a hash of
their first items, so a validation case is kept with its history), and the final model is
trained on all of them, as in Chamberlain et al. (RecSys 2020).

The whole job (read both files, search, write the TOML, train the final model) is
:func:`item2vec.evaluation.tune_run.run_tune`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from item2vec.errors import ConfigError, EmptyResultError, check_choice, param
from item2vec.evaluation.evaluate import RANK_METRICS, parse_metric
from item2vec.evaluation.knn_tune import KnnChoice
from item2vec.evaluation.ranking import Cases, Query
from item2vec.evaluation.tune_modes import Choice, ModeScorer, choices
from item2vec.evaluation.tune_table import TrialReport
from item2vec.extras import require
from item2vec.training.config import PRESETS, TrainConfig
from item2vec.training.gensim_engine import train
from item2vec.training.summary import TrainSummary

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

# name → (low, high, log scale) for numbers; a tuple of choices for categories.
SEARCH_SPACE: dict[str, tuple[Any, ...]] = {
    "dim": (16, 256, True),
    "window": (1, 20, True),
    "negative": (2, 30, True),
    "ns_exponent": (-1.0, 1.0, False),
    "sample": (1e-6, 1e-2, True),
    "epochs": (5, 60, True),
    "alpha": (0.005, 0.1, True),
    "min_count": (1, 10, True),
    "context": ("window", "set"),
}
CHECKPOINTS = (0.25, 0.5, 0.75)


@dataclass(frozen=True)
class TuneOptions:
    """What to maximise and how long to search."""

    metric: str = "ndcg@10"
    trials: int = 30
    timeout: float | None = None
    seed: int = 1
    sample: float = 1.0
    query: Query = "last"
    history: int = 5
    preset: str = "recsys"
    fixed: dict[str, Any] = field(default_factory=dict)
    scores: tuple[str, ...] = ()  # score modes to try (default: all)
    hybrid_weight: float | None = None  # fixed hybrid weight (default: each of TUNE_WEIGHTS)
    hybrid_base: str | None = None  # fixed hybrid base (default: both)
    baselines: bool = True  # also tune SKNN, V-SKNN and STAN on the validation cases (knn_tune)

    def grid(self) -> list[Choice]:
        """The score choices every trial is measured in."""
        return choices(self.scores, weight=self.hybrid_weight, base=self.hybrid_base)

    def __post_init__(self) -> None:
        parse_metric(self.metric, allowed=RANK_METRICS)
        if self.trials < 1:
            raise ConfigError(param="trials", value=self.trials, expected="1 or more")
        if not 0 < self.sample <= 1:
            raise ConfigError(param="fraction", value=self.sample, expected="a fraction in (0, 1], e.g. 0.1")
        check_choice("preset", self.preset, tuple(PRESETS))
        TrainConfig.from_preset(self.preset, **{**self.fixed, "seed": self.seed})  # validates them
        self.grid()  # validates the score options


TrialCallback = Callable[[TrialReport], None]


@dataclass
class TuneResult:
    """The best configuration found and how the search went."""

    metric: str
    best_value: float
    best_params: dict[str, Any]
    config: TrainConfig
    trials: list[TrialReport]
    interrupted: bool
    train_sequences: int
    valid_cases: int
    model: TrainSummary | None = None
    scoring: dict[str, Any] = field(default_factory=dict)  # the best trial's score mode, weight, base
    baselines: list[KnnChoice] = field(default_factory=list)  # each session-kNN method's best point

    @property
    def best_label(self) -> str | None:
        """How the best trial scored, e.g. ``hybrid(next,4)`` (None: no finished trial says)."""
        done = [t for t in self.trials if t.state == "complete" and t.value == self.best_value]
        return str(done[0].params["score"]) if done and "score" in done[0].params else None

    def as_record(self) -> dict[str, Any]:
        """Fields for ``render_record``: the outcome, then the chosen parameters."""
        states = [t.state for t in self.trials]
        record: dict[str, Any] = {
            "metric": self.metric,
            "best": round(self.best_value, 4),
            "trials": len(self.trials),
            "pruned": states.count("pruned"),
            "interrupted": self.interrupted,
            "tuned_on_sequences": self.train_sequences,
            "validation_cases": self.valid_cases,
        }
        chosen = train_values(self.config)
        record.update({f"param.{k}": chosen[k.replace("_", "-")] for k in self.best_params})
        record.update({f"param.{k}": v for k, v in self.scoring.items()})
        record.update({f"knn.{c.params.method}": c.value for c in self.baselines})
        if self.model is not None:
            record["model"] = str(self.model.output)
        return record


def parse_fixed(texts: list[str]) -> dict[str, Any]:
    """``["dim=64", "context=set"]`` → {"dim": 64, "context": "set"} for ``--fix``.

    Raises:
        ConfigError: not NAME=VALUE, a name outside the search space, or a value of the wrong type.
    """
    fixed: dict[str, Any] = {}
    for text in texts:
        name, sep, value = text.partition("=")
        key = name.strip().replace("-", "_")
        if not sep or key not in SEARCH_SPACE:
            names = ", ".join(n.replace("_", "-") for n in SEARCH_SPACE)
            raise ConfigError(param="fix", value=text, expected=f"NAME=VALUE with NAME one of {names}")
        space = SEARCH_SPACE[key]
        try:
            fixed[key] = value.strip() if isinstance(space[0], str) else type(space[0])(value)
        except ValueError:
            kind = "a whole number" if isinstance(space[0], int) else "a number"
            raise ConfigError(
                f"{param('fix', text)} is invalid: {name.strip()} takes {kind}",
                param="fix",
                value=text,
                expected=f"{name.strip()}=VALUE with VALUE {kind}",
            ) from None
    return fixed


def _optuna() -> Any:
    import logging

    optuna = require("optuna", "tune")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for handler in logging.getLogger("optuna").handlers:
        if not any(isinstance(f, _NoInterrupt) for f in handler.filters):
            handler.addFilter(_NoInterrupt())
    return optuna


class _NoInterrupt:
    """Drops optuna's "trial failed" warning (and traceback) for a Ctrl-C: the search stops on purpose."""

    def __init__(self) -> None:
        self.dropped = False

    def filter(self, record: Any) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, KeyboardInterrupt) or "KeyboardInterrupt()" in str(record.msg):
            self.dropped = True
            return False
        if self.dropped and "failed with value" in str(record.msg):  # its second line
            self.dropped = False
            return False
        return True


def search(
    train_seqs: list[list[str]],
    valid_seqs: list[list[str]],
    *,
    options: TuneOptions,
    report: TrialCallback | None = None,
) -> TuneResult:
    """Run the Optuna study on sequences already read (and sampled).

    Raises:
        EmptyResultError: no validation case, or no trial finished.
        KeyboardInterrupt: Ctrl-C (or SIGTERM) before any trial finished: there is nothing to keep.
        MissingDependencyError: optuna is not installed.
    """
    optuna = _optuna()
    cases = Cases.from_sequences(valid_seqs, query=options.query, history=options.history)
    if not len(cases):
        raise EmptyResultError(
            f"the validation data has no sequence of 2+ items ({len(valid_seqs):,} sequences): "
            f"give the valid file written by 'item2vec split', or raise {param('fraction')}",
            param="fraction",
            value=options.sample,
            fix="give the valid file written by 'item2vec split', or raise the fraction",
        )
    metric = parse_metric(options.metric, allowed=RANK_METRICS)
    searched = {p: v for p, v in SEARCH_SPACE.items() if p not in options.fixed}
    modes = ModeScorer(train_seqs, cases, options.grid(), metric)
    objective = _objective(optuna, train_seqs, options, searched, modes)
    study = _study(optuna, options, searched)
    reports: list[TrialReport] = []
    interrupted: KeyboardInterrupt | None = None

    def finished(study: Any, trial: Any) -> None:
        reports.append(_report(study, trial))
        if report is not None:
            report(reports[-1])

    try:
        study.optimize(objective, n_trials=options.trials, timeout=options.timeout, callbacks=[finished])
    except KeyboardInterrupt as exc:
        interrupted = exc
    best = _best_trial(optuna, study, options, interrupted)
    config = _config(options, best.params)
    return TuneResult(
        options.metric, float(best.value), dict(best.params), config, reports, interrupted is not None,
        len(train_seqs), len(cases), scoring=dict(best.user_attrs.get("scoring", {})),
    )  # fmt: skip


def _objective(
    optuna: Any,
    train_seqs: list[list[str]],
    options: TuneOptions,
    searched: dict[str, Any],
    modes: ModeScorer,
) -> Callable[[Any], float]:
    """One trial: train with the suggested parameters, report checkpoints, score the best mode."""

    def objective(trial: Any) -> float:
        params = {p: _suggest(trial, p, space) for p, space in searched.items()}
        config = _config(options, params)
        marks = sorted({max(1, round(f * config.epochs)) for f in CHECKPOINTS} - {config.epochs})

        def on_epoch(
            epoch: int, ids: list[str], vectors: NDArray[np.float32], output: NDArray[np.float32]
        ) -> None:
            if epoch in marks:
                trial.report(modes.best(ids, vectors, output)[0], step=round(100 * epoch / config.epochs))
                if trial.should_prune():
                    raise optuna.TrialPruned()

        trained = train(train_seqs, config=config, on_epoch=on_epoch)
        value, choice = modes.best(trained.ids, trained.vectors, trained.syn1neg)
        trial.set_user_attr("scoring", choice.record())
        trial.set_user_attr("score", choice.label())
        return value

    return objective


def _study(optuna: Any, options: TuneOptions, searched: dict[str, Any]) -> Any:
    """A seeded TPE study with median pruning whose first trial is the preset's point."""
    sampler = optuna.samplers.TPESampler(
        seed=options.seed, n_startup_trials=min(10, max(3, options.trials // 3))
    )
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    study.enqueue_trial(_preset_point(options.preset, searched))
    return study


def _best_trial(optuna: Any, study: Any, options: TuneOptions, interrupted: KeyboardInterrupt | None) -> Any:
    """The finished trial with the highest value; re-raises a Ctrl-C that came before any finished."""
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete and interrupted is not None:
        raise interrupted  # stopped before any trial finished: nothing to keep (exit 130 or 143)
    if not complete:
        raise EmptyResultError(
            f"no trial finished: let at least one run to the end (raise {param('timeout')})",
            param="timeout",
            value=options.timeout,
            fix="let at least one trial run to the end",
        )
    return max(complete, key=lambda t: t.value)


def _config(options: TuneOptions, params: dict[str, Any]) -> TrainConfig:
    """The trial's configuration, its floats rounded as the TOML file writes them."""
    values = dict(params)
    if "ns_exponent" in values:
        values["ns_exponent"] = round(values["ns_exponent"], 3)
    if "sample" in values:
        values["sample"] = float(f"{values['sample']:.2g}")
    if "alpha" in values:
        values["alpha"] = float(f"{values['alpha']:.3g}")
    return TrainConfig.from_preset(options.preset, **{**options.fixed, **values, "seed": options.seed})


def _suggest(trial: Any, name: str, space: tuple[Any, ...]) -> Any:
    if isinstance(space[0], str):
        return trial.suggest_categorical(name, list(space))
    low, high, log = space
    if isinstance(low, int):
        return trial.suggest_int(name, low, high, log=log)
    return trial.suggest_float(name, low, high, log=log)


def _preset_point(preset: str, searched: dict[str, tuple[Any, ...]]) -> dict[str, Any]:
    """The preset's values for the searched parameters, clipped into the search ranges."""
    values = {**PRESETS[preset], "context": "window"}
    point: dict[str, Any] = {}
    for name, space in searched.items():
        value = values.get(name)
        if isinstance(space[0], str):
            point[name] = value if value in space else space[0]
        else:
            point[name] = min(max(value if value is not None else space[0], space[0]), space[1])
    return point


def _report(study: Any, trial: Any) -> TrialReport:
    state = trial.state.name.lower()
    seconds = (
        (trial.datetime_complete - trial.datetime_start).total_seconds() if trial.datetime_complete else 0.0
    )
    try:
        best = float(study.best_value)
    except ValueError:
        best = None
    value = float(trial.value) if trial.value is not None else None
    params = {**trial.params, **({"score": trial.user_attrs["score"]} if "score" in trial.user_attrs else {})}
    return TrialReport(trial.number, {"fail": "failed"}.get(state, state), value, best, params, seconds)


def train_values(config: TrainConfig) -> dict[str, Any]:
    """The training parameters as ``train`` options (rounded as people write them)."""
    values: dict[str, Any] = {
        "preset": config.preset,
        "context": config.context,
        "dim": config.dim,
        "window": config.window,
        "negative": config.negative,
        "ns-exponent": round(config.ns_exponent, 3),
        "sample": float(f"{config.sample:.2g}"),
        "epochs": config.epochs,
        "alpha": float(f"{config.alpha:.3g}"),
        "min-count": config.min_count,
        "seed": config.seed,
    }
    if config.max_vocab is not None:
        values["max-vocab"] = config.max_vocab
    return values
