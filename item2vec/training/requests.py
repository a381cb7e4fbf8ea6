"""One training run as one typed value, shared by ``item2vec train`` and ``item2vec.train``.

Both edges build a :class:`TrainRequest` from what their user gave (flags, or keyword
arguments) and hand it, keyword-only, to the pipeline (:mod:`item2vec.training.pipeline`):
the parameters (:class:`~item2vec.training.config.TrainConfig`), the session options, and the
optional parts of a run (item names, item features, walks, Spark, the scoring to record or the
calibrator that chooses it). A new training parameter is a ``TrainConfig`` field; nothing here
names one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from item2vec.errors import Bare, ConfigError, param
from item2vec.training.config import TrainConfig, field_names

if TYPE_CHECKING:
    from item2vec.corpus.items import ItemsOptions
    from item2vec.corpus.options import SessionOptions
    from item2vec.training.features import FeatureOptions
    from item2vec.training.holdout import Calibrator
    from item2vec.training.small_log import TrialJudge
    from item2vec.training.spark_io import SparkOptions
    from item2vec.training.walks import WalkOptions


@dataclass(frozen=True)
class TrainRequest:
    """What to train and how: everything a run needs besides its input and its output.

    Attributes:
        config: the training parameters, validated on creation.
        session: how events become sequences.
        given: the fields of ``config`` the caller chose; the others follow the preset chosen for
            the input once it is read (``text`` for text, else ``recsys``). None: ``config`` is
            used as it is.
        input_format: override format detection (files).
        items: item names from a table file (:mod:`item2vec.corpus.items`).
        features: item attributes to train with (:mod:`item2vec.training.features`).
        walks: random walks to train on (:mod:`item2vec.training.walks`).
        spark: train with Spark MLlib instead of gensim (:mod:`item2vec.training.spark_engine`).
        scoring: the default scoring to record in model.json (``score``, ``hybrid_weight``,
            ``hybrid_base``; None values unset), instead of calibrating one.
        calibrator: chooses the default scoring on held-out items when ``scoring`` sets none
            (:mod:`item2vec.training.holdout`; the CLI and the API hand over
            ``item2vec.evaluation.calibrate``).
        judge: on a small log, scores training trials on the calibration's held-out items
            (:mod:`item2vec.training.small_log`; the CLI and the API hand over
            ``item2vec.evaluation.calibrate.TrialJudge``); None: one training run.

    Raises:
        ConfigError: Spark with item features or walks (Spark trains on sessions only).
    """

    config: TrainConfig
    session: SessionOptions
    given: frozenset[str] | None = None
    input_format: str | None = None
    items: ItemsOptions | None = None
    features: FeatureOptions | None = None
    walks: WalkOptions | None = None
    spark: SparkOptions | None = None
    scoring: Mapping[str, Any] | None = None
    calibrator: Calibrator | None = None
    calibration_asked: bool = False
    judge: TrialJudge | None = None  # asked for by name: a run that cannot calibrate says why

    def __post_init__(self) -> None:
        if self.spark is None:
            return
        spark, gensim = param("engine", Bare("spark")), param("engine", Bare("gensim"))
        if self.features is not None:
            raise ConfigError(
                f"{param('item_features')} is not supported with {spark}: use {gensim}",
                param="item_features", fix=f"use {gensim}",
            )  # fmt: skip
        if self.walks is not None:
            raise ConfigError(
                f"{param('walks', Bare(self.walks.method))} is not supported with {spark}: use {gensim}",
                param="walks", value=self.walks.method, fix=f"use {gensim}",
            )  # fmt: skip

    @classmethod
    def from_values(cls, values: Mapping[str, Any], *, session: SessionOptions, **parts: Any) -> TrainRequest:
        """A request for the training parameters ``values`` gives (by ``TrainConfig`` field; None:
        not given, the preset's), on top of ``values["preset"]`` or ``recsys`` until the input says.

        ``parts`` are the other fields (``items``, ``walks``, ``calibrator``, ...).

        Raises:
            ConfigError: an unknown parameter or a value out of range (before any data is read).
        """
        given = {name: value for name, value in values.items() if value is not None}
        params = {name: value for name, value in given.items() if name != "preset"}
        config = TrainConfig.from_preset(given.get("preset", "recsys"), **params)
        return cls(config=config, session=session, given=frozenset(given), **parts)

    @property
    def preset(self) -> str | None:
        """The preset the caller chose, or None (chosen by the input)."""
        return self.config.preset if self.given is None or "preset" in self.given else None

    def config_for(self, preset: str) -> TrainConfig:
        """The parameters of this run once its preset is known."""
        if self.given is None:
            return self.config
        return TrainConfig.from_preset(preset, **self.overrides())

    def overrides(self) -> dict[str, Any]:
        """The parameters the caller chose, by name (every one when ``given`` is None), preset aside."""
        names = self.given if self.given is not None else field_names()
        return {name: getattr(self.config, name) for name in names if name != "preset"}
