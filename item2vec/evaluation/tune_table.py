"""The live table of ``tune``'s trials (stderr): one line per finished trial; after them, the
session-kNN baselines tuned on the same validation cases beside the best trial."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from item2vec.evaluation.knn_tune import KnnChoice


@dataclass(frozen=True)
class TrialReport:
    """One finished trial, for the live table."""

    number: int
    state: str  # complete, pruned or failed
    value: float | None
    best: float | None
    params: dict[str, Any]
    seconds: float


def trial_header(metric: str) -> str:
    """The header of the live trial table."""
    return (
        f"{'trial':>5}  {'state':8}  {metric:>8}  {'best':>7}  {'dim':>4}  {'window':>6}  {'neg':>3}  "
        f"{'ns-exp':>6}  {'sample':>7}  {'epochs':>6}  {'alpha':>6}  {'min':>3}  {'context':7}  "
        f"{'score':18}  {'seconds':>7}"
    )


def trial_line(trial: TrialReport) -> str:
    """One row of the live trial table."""
    p = trial.params

    def num(key: str, fmt: str, width: int) -> str:
        return format(p[key], fmt).rjust(width) if key in p else "-".rjust(width)

    value = f"{trial.value:.4f}" if trial.value is not None and trial.state == "complete" else "-"
    best = f"{trial.best:.4f}" if trial.best is not None else "-"
    return (
        f"{trial.number:>5}  {trial.state:8}  {value:>8}  {best:>7}  {num('dim', 'd', 4)}  "
        f"{num('window', 'd', 6)}  {num('negative', 'd', 3)}  {num('ns_exponent', '.2f', 6)}  "
        f"{num('sample', '.1e', 7)}  {num('epochs', 'd', 6)}  {num('alpha', '.4f', 6)}  "
        f"{num('min_count', 'd', 3)}  {p.get('context', '-')!s:7}  {p.get('score', '-')!s:18}  {trial.seconds:7.1f}"
    )


def baselines_table(
    metric: str, cases: int, best: float, score: str | None, baselines: list[KnnChoice]
) -> str:
    """The session-kNN methods tuned on the same ``cases`` validation cases, beside the best
    trial's ``best`` value (scored in ``score``)."""
    width = max(len(metric), 7)
    lines = [
        f"the best trial beside session-kNN tuned on the same {cases:,} validation cases:",
        f"{'method':8}  {'seen':8}  {metric:>{width}}  {'seconds':>7}  parameters",
        f"{'model':8}  {'-':8}  {best:>{width}.4f}  {'-':>7}  "
        + (f"best trial ({score})" if score else "best trial"),
    ]
    lines += [
        f"{c.method:8}  {c.seen:8}  {c.value:>{width}.4f}  {c.seconds:7.1f}  {c.params.label()}"
        for c in baselines
    ]
    return "\n".join(lines)
