"""What a notebook shows of an answer: result lists and evaluations as tables, and as DataFrames.

``Model.similar``, ``analogy`` and ``recommend`` return :class:`Results`: a list of
:class:`~item2vec.api.records.ItemScore` rows (it compares, indexes and unpacks as before) that
also says what its scores are (:attr:`Results.score_kind`) and by which scoring they were made,
renders as an HTML table in Jupyter, and turns into a DataFrame with :meth:`Results.to_frame`.
``Model.evaluate`` returns an :class:`EvaluationReport`: the core's ``Evaluation`` with a text and
an HTML table and ``to_frame``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from item2vec.api.records import ItemScore
from item2vec.errors import Item2VecError
from item2vec.evaluation.eval_inputs import Evaluation
from item2vec.model.embeddings import Embeddings, Neighbour
from item2vec.render import render_sections

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from item2vec.model.scoring_record import Scoring

# What a score is, by kind: the meaning that a table or frame shows beside the number.
SCORE_KINDS = {
    "cosine": "cosine similarity (-1 to 1)",
    "hybrid": "standardised hybrid score (z + weight · log1p(transitions); unbounded, compare within one answer)",
    "cosmul": "3CosMul score (a ratio of shifted cosines)",
}


class Results(list[ItemScore]):
    """An answer: :class:`ItemScore` rows, best first, and what their scores are.

    Attributes:
        score_kind: ``"cosine"`` (``similar`` and ``next`` modes, 3CosAdd analogies, a cosine
            from -1 to 1), ``"hybrid"`` (the standardised hybrid score: not bounded, comparable
            within one answer only) or ``"cosmul"`` (3CosMul analogies).
        scoring: the way of scoring, as tables label it: ``similar``, ``next``,
            ``hybrid(next,8)``, ``analogy add``.
        query: the query items (a history oldest first; an analogy's as ``+a``/``-b``).
    """

    score_kind: str
    scoring: str
    query: tuple[str, ...]

    def __init__(
        self,
        rows: Iterable[ItemScore] = (),
        *,
        score_kind: str = "cosine",
        scoring: str = "",
        query: Sequence[str] = (),
    ) -> None:
        super().__init__(rows)
        self.score_kind = score_kind
        self.scoring = scoring
        self.query = tuple(query)

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame: ``rank`` (1 = best), ``item``, ``name`` (None without one), ``score`` and
        ``score_kind`` (see :attr:`score_kind`); ``frame.attrs`` holds ``score_kind``, ``scoring``
        and ``query``."""
        import pandas as pd

        frame = pd.DataFrame(
            {
                "rank": list(range(1, len(self) + 1)),
                "item": [r.item for r in self],
                "name": [r.name for r in self],
                "score": [float(r.score) for r in self],
                "score_kind": [self.score_kind] * len(self),
            }
        )
        frame.attrs.update(score_kind=self.score_kind, scoring=self.scoring, query=list(self.query))
        return frame

    def _repr_html_(self) -> str:
        caption = f"{len(self)} item{'s' if len(self) != 1 else ''}"
        if self.query:
            caption += f" for {', '.join(self.query)}"
        caption += f" · {self.scoring or self.score_kind} · score: {SCORE_KINDS.get(self.score_kind, self.score_kind)}"
        rows = [{"rank": i, "item": r.item, "name": r.name, "score": r.score} for i, r in enumerate(self, 1)]
        return html_table(rows, ["rank", "item", "name", f"score ({self.score_kind})"], caption=caption)


def results(
    neighbours: Iterable[Neighbour], *, kind: str = "cosine", scoring: str = "", query: Sequence[str] = ()
) -> Results:
    """The core's answer rows as :class:`Results`, in rank order."""
    rows = (ItemScore(n.item, n.score, n.name) for n in neighbours)
    return Results(rows, score_kind=kind, scoring=scoring, query=query)


def score_kind(scoring: Scoring) -> str:
    """What the scores of ``scoring``'s mode are: ``hybrid`` for a mode that adds transitions to a
    standardised score, else ``cosine`` (``similar``: input vectors; ``next``: input · output)."""
    from item2vec.query.score_modes import score_mode

    return "hybrid" if score_mode(scoring.mode).uses_transitions else "cosine"


class EvaluationReport(Evaluation):
    """``Model.evaluate``'s answer: ``sections`` (``"next-item"``, ``"analogies"``, ``"pairs"``: rows
    of metrics) and ``notes``, shown as tables (text, and HTML in Jupyter)."""

    def to_frame(self, section: str | None = None) -> pd.DataFrame:
        """One section's rows as a DataFrame (default: ``next-item``, else the first section);
        a model row's ``score`` column names its scoring, a baseline's is None.

        Raises:
            KeyError: no such section (the message lists those there are).
        """
        import pandas as pd

        name = self._section(section)
        frame = pd.DataFrame([dict(row) for row in self.sections.get(name, [])])
        frame.attrs.update(section=name, notes=list(self.notes))
        return frame

    def _section(self, section: str | None) -> str:
        if section is None:
            return (
                "next-item"
                if "next-item" in self.sections or not self.sections
                else next(iter(self.sections))
            )
        if section not in self.sections:
            raise KeyError(
                f"no section {section!r}: this evaluation has {', '.join(map(repr, self.sections))}"
            )
        return section

    def __repr__(self) -> str:
        text = render_sections(self.sections, "table") if self.sections else "(no sections)\n"
        notes = "".join(f"note: {note}\n" for note in self.notes)
        return f"<item2vec evaluation>\n{text}{notes}".rstrip("\n")

    def _repr_html_(self) -> str:
        parts = [
            html_table(rows, list(rows[0]) if rows else [], caption=name)
            for name, rows in self.sections.items()
        ]
        if self.notes:
            items = "".join(f"<li>{html.escape(note)}</li>" for note in self.notes)
            parts.append(f"<ul class='item2vec-notes'>{items}</ul>")
        return "<div class='item2vec-evaluation'>" + "".join(parts) + "</div>"


def report(evaluation: Evaluation) -> EvaluationReport:
    """``evaluation`` as an :class:`EvaluationReport` (the same sections and notes)."""
    return EvaluationReport(sections=evaluation.sections, notes=evaluation.notes)


def html_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, caption: str = "") -> str:
    """A small HTML table (cells escaped; numbers right-aligned, floats to 4 decimals)."""
    keys = [column.split(" (")[0] for column in columns]
    head = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
    body = "".join(
        "<tr>" + "".join(_cell(row.get(key)) for key in keys) + "</tr>" for row in rows
    )  # fmt: skip
    title = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    return f"<table class='item2vec'>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: object) -> str:
    if value is None:
        return "<td></td>"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"<td style='text-align:left'>{html.escape(str(value))}</td>"
    text = f"{value:.4f}" if isinstance(value, float) else f"{value:,}"
    return f"<td style='text-align:right'>{text}</td>"


def model_html(embeddings: Embeddings, source: Path | None, *, indexes: Sequence[str] = ()) -> str:
    """A model's summary as an HTML table (``Model._repr_html_``): size, where it is, what it was
    trained on and with, its default scoring, the indexes built in this session."""
    meta = embeddings.meta
    params = meta.get("params") or {}
    read = meta.get("input") or {}
    named = len(embeddings.names)
    fields = {
        "items": len(embeddings),
        "dimensions": embeddings.dim,
        "path": str(source) if source is not None else None,
        "names": f"{named:,} of them named" if named else None,
        "trained on": f"{read['tokens']:,} items in {read['sessions']:,} sequences"
        if isinstance(read.get("tokens"), int) and isinstance(read.get("sessions"), int)
        else None,
        "parameters": ", ".join(f"{k}={params[k]}" for k in _SHOWN if k in params) or None,
        "default scoring": _scoring_label(meta),
        "index (this session)": ", ".join(indexes) or None,
    }
    rows = [{"field": key, "value": value} for key, value in fields.items() if value is not None]
    return html_table(rows, ["field", "value"], caption="item2vec.Model")


_SHOWN = ("preset", "context", "dim", "window", "negative", "epochs", "min_count")


def _scoring_label(meta: Mapping[str, Any]) -> str | None:
    from item2vec.model.scoring_record import Scoring

    try:
        return Scoring.from_record(meta).label()
    except Item2VecError:  # a hand-edited model.json's record: no scoring shown
        return None
