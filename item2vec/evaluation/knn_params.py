"""Parameters of the session-kNN baselines (SKNN, V-SKNN, STAN) and their validation grids.

Names and defaults are session-rec's (Ludewig et al. 2018/2021; ``algorithms/knn/sknn.py``,
``vsknn.py``, ``stan.py``): ``k`` 100 and ``sample_size`` 500 as their docstrings give them
(their constructors default to 1000, STAN's to 5000), V-SKNN's ``weighting`` and
``weighting_score`` ``"div"`` and ``idf_weighting`` off (0 here, ``False`` there), STAN's
``lambda_spw`` 1.02, ``lambda_snh`` 5 and ``lambda_inh`` 2.05. ``lambda_snh`` is in
session-rec's unit, days, on a clock on which the training log spans ``SPAN`` (100) days: see
``item2vec.evaluation.knn`` for how sequence order stands in for time. session-rec's
``remind=False`` (seen items unscored) ranks as ``exclude_seen=True`` does.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from item2vec.errors import ConfigError, ModelError, check_choice, cut

KNN_METHODS = ("sknn", "vsknn", "stan")
KNN_LABELS = {"sknn": "sknn", "vsknn": "v-sknn", "stan": "stan"}  # evaluate's row names
SIMILARITIES = ("cosine", "jaccard")
WEIGHTINGS = ("same", "div", "linear", "log", "quadratic")  # session-rec's decay functions
SPAN = 100.0  # days the training log spans on STAN's clock (lambda_snh's unit)
# session-rec's published STAN search scales lambda_spw and lambda_inh by the mean session length
# L (1e-5, L/8, L/4, L/2, L, 2L); its defaults 1.02 and 2.05 are L/4 and L/2 for L = 4.1.
DEFAULT_LENGTH = 4.1
# The fields each method reads (model.json's "baselines" record holds these).
METHOD_FIELDS = {
    "sknn": ("k", "sample_size", "similarity"),
    "vsknn": ("k", "sample_size", "weighting", "weighting_score", "idf_weighting"),
    "stan": ("k", "sample_size", "lambda_spw", "lambda_snh", "lambda_inh"),
}
BASELINES_KEY = "baselines"  # model.json's record of the baselines' parameters (tune writes it)
_METHODS_SAMPLE = '{"sknn": {"k": 100, "sample_size": 500, "similarity": "cosine"}}'
_SAMPLE = f'{{"knn": {_METHODS_SAMPLE}}}'


@dataclass(frozen=True)
class KnnParams:
    """One session-kNN method and its parameters (session-rec's names and defaults).

    ``similarity`` is SKNN's (``"cosine"`` or ``"jaccard"``); V-SKNN in session-rec always
    scores neighbours by its position-weighted overlap and ignores it, as here.
    ``weighting`` weights the current session's items by position, ``weighting_score`` a
    neighbour's items by how far back in the current session the last item they share is, and
    ``idf_weighting`` (0 = off) boosts rare items (V-SKNN only). ``lambda_spw``, ``lambda_snh``
    and ``lambda_inh`` are STAN's decays by position in the session, neighbour age (days of
    ``SPAN``) and distance inside the neighbour. ``sample_size`` 0 keeps every candidate.

    Raises:
        ConfigError: an unknown method, similarity or weighting, ``k`` below 1, a negative
            ``sample_size`` or ``idf_weighting``, or a decay that is not above 0.
    """

    method: str
    k: int = 100
    sample_size: int = 500
    similarity: str = "cosine"
    weighting: str = "div"
    weighting_score: str = "div"
    idf_weighting: float = 0.0
    lambda_spw: float = 1.02
    lambda_snh: float = 5.0
    lambda_inh: float = 2.05

    def __post_init__(self) -> None:
        check_choice("method", self.method, KNN_METHODS, quoted=True)
        check_choice("similarity", self.similarity, SIMILARITIES, quoted=True)
        check_choice("weighting", self.weighting, WEIGHTINGS, quoted=True)
        check_choice("weighting_score", self.weighting_score, WEIGHTINGS, quoted=True)
        if self.k < 1:
            raise ConfigError(param="k", value=self.k, expected="1 or more neighbours")
        if self.sample_size < 0:
            raise ConfigError(param="sample_size", value=self.sample_size, expected="0 (all) or more")
        if self.idf_weighting < 0:
            raise ConfigError(param="idf_weighting", value=self.idf_weighting, expected="0 (off) or more")
        for name in ("lambda_spw", "lambda_snh", "lambda_inh"):
            if not getattr(self, name) > 0:
                raise ConfigError(param=name, value=getattr(self, name), expected="a number above 0")

    def record(self) -> dict[str, Any]:
        """The fields the method reads, as model.json's "baselines" record holds them."""
        return {name: getattr(self, name) for name in METHOD_FIELDS[self.method]}

    def label(self) -> str:
        """A compact name, e.g. ``stan(k=100,sample=500,spw=1.02,snh=5,inh=2.05)``."""
        head = f"{KNN_LABELS[self.method]}(k={self.k},sample={self.sample_size}"
        if self.method == "sknn":
            return f"{head},sim={self.similarity})"
        if self.method == "vsknn":
            return f"{head},w={self.weighting},ws={self.weighting_score},idf={self.idf_weighting:g})"
        return f"{head},spw={self.lambda_spw:.3g},snh={self.lambda_snh:g},inh={self.lambda_inh:.3g})"


def knn_grid(method: str, *, mean_length: float | None = None) -> list[KnnParams]:
    """A small validation grid for ``method``, drawn from session-rec's published searches.

    SKNN (12 points): ``k`` 50/100/500 x ``sample_size`` 500/2500 x cosine/jaccard. V-SKNN
    (16): ``k`` 100/500 x ``weighting`` div/quadratic x ``weighting_score`` div/quadratic x
    ``idf_weighting`` 0/5, ``sample_size`` 1000 (its constructor's default). STAN (16): ``k``
    100/500 x ``lambda_spw`` L/4 or L x ``lambda_snh`` 5 or 100 days x ``lambda_inh`` L/2 or 2L,
    ``sample_size`` 2500, where L is ``mean_length`` (the mean training sequence length,
    ``SessionKnn.mean_length``; session-rec's search scales both by it) or 4.1, for which L/4
    and L/2 are session-rec's defaults 1.02 and 2.05. session-rec's ``linear`` weightings
    are left out: they give the most recent items of a session over 10 items long no weight.

    Raises:
        ConfigError: an unknown method.
    """
    check_choice("method", method, KNN_METHODS, quoted=True)
    if method == "sknn":
        return [
            KnnParams("sknn", k=k, sample_size=s, similarity=sim)
            for k, s, sim in itertools.product((50, 100, 500), (500, 2500), SIMILARITIES)
        ]
    if method == "vsknn":
        return [
            KnnParams("vsknn", k=k, sample_size=1000, weighting=w, weighting_score=ws, idf_weighting=idf)
            for k, w, ws, idf in itertools.product(
                (100, 500), ("div", "quadratic"), ("div", "quadratic"), (0.0, 5.0)
            )
        ]
    size = mean_length if mean_length and mean_length > 0 else DEFAULT_LENGTH
    return [
        KnnParams("stan", k=k, sample_size=2500, lambda_spw=spw, lambda_snh=snh, lambda_inh=inh)
        for k, spw, snh, inh in itertools.product(
            (100, 500), (size / 4, size), (5.0, 100.0), (size / 2, 2 * size)
        )
    ]


def knn_params_from_meta(meta: Mapping[str, Any]) -> dict[str, KnnParams]:
    """Each method's parameters from model.json's "baselines" record (``tune`` chooses them on
    validation data): ``{"knn": {"sknn": {"k": 50, ...}, "vsknn": {...}, "stan": {...}}, ...}``.
    A method the record lacks, a field its record lacks, or a model without the record takes
    session-rec's defaults (:class:`KnnParams`).

    Raises:
        ModelError: a record that is not valid (a hand-edited model.json), naming the key.
    """
    record = meta.get(BASELINES_KEY)
    record = {} if record is None else record
    if not isinstance(record, Mapping):
        raise _bad_record(BASELINES_KEY, record, f"a record such as {_SAMPLE}")
    knn = record.get("knn")
    knn = {} if knn is None else knn
    if not isinstance(knn, Mapping):
        raise _bad_record(f"{BASELINES_KEY}.knn", knn, f"a record such as {_METHODS_SAMPLE}")
    for method in knn:
        if method not in KNN_METHODS:
            raise _bad_record(
                f"{BASELINES_KEY}.knn.{method}", knn[method], f"a method: one of {', '.join(KNN_METHODS)}"
            )
    return {method: _params(method, knn.get(method)) for method in KNN_METHODS}


def _params(method: str, given: object) -> KnnParams:
    """One method's parameters from its record (None: the defaults), each field's type checked."""
    key = f"{BASELINES_KEY}.knn.{method}"
    if given is None:
        return KnnParams(method)
    if not isinstance(given, Mapping):
        raise _bad_record(key, given, 'a record of its parameters such as {"k": 100, "sample_size": 500}')
    kinds = {
        f.name: type(getattr(KnnParams(method), f.name)) for f in fields(KnnParams) if f.name != "method"
    }
    for name, value in given.items():
        if name not in kinds:
            raise _bad_record(f"{key}.{name}", value, f"a field of {method}: one of {', '.join(kinds)}")
        kind = kinds[name]
        wrong = isinstance(value, bool) or not (
            isinstance(value, kind) or (kind is float and isinstance(value, int))
        )
        if wrong or (kind is float and not math.isfinite(value)):
            words = {int: "a whole number", float: "a finite number", str: "a string"}[kind]
            raise _bad_record(f"{key}.{name}", value, words)
    try:
        return KnnParams(method, **{name: kinds[name](value) for name, value in given.items()})
    except ConfigError as exc:
        name = exc.param or ""
        raise _bad_record(f"{key}.{name}", given.get(name), exc.expected or "valid") from None


def _bad_record(key: str, value: object, expected: str) -> ModelError:
    return ModelError(
        f"model.json's {key!r} is {cut(repr(value), 60)}, not {expected}: fix model.json (or retrain the model)",
        value=value,
        expected=expected,
    )
