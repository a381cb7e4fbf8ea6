"""One self-contained HTML page about a model: training summary, evaluation, map, neighbours.

Everything is inlined (CSS, plotly.js), so the page opens offline and can be mailed or archived.
Every name and id is HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from item2vec.errors import InputError, flag_name, param, spell
from item2vec.model.embeddings import Embeddings
from item2vec.model.info import info_record
from item2vec.query.neighbours import similar
from item2vec.query.scoring import ScoreRequest
from item2vec.version import __version__

Row = dict[str, Any]
SUMMARY_GROUPS = {
    "size": "Model",
    "input": "Input",
    "params": "Parameters",
    "training": "Training",
    "versions": "Versions",
}
_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:0 auto;
max-width:1180px;padding:0 24px 48px}
h1{font-size:24px;margin:28px 0 4px}h2{font-size:19px;margin:36px 0 10px;border-bottom:1px solid #ddd;
padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
.sub{color:#666;margin:0 0 8px}.blocks{display:flex;flex-wrap:wrap;gap:0 48px;align-items:flex-start}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:0 40px}
table{border-collapse:collapse;margin:4px 0 12px}th,td{padding:3px 12px 3px 0;text-align:left;
vertical-align:top;border-bottom:1px solid #eee}th{font-weight:600;color:#444}
td{max-width:420px;overflow-wrap:anywhere}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.best{font-weight:700}
.note{color:#8a4b00}.muted{color:#777;font-weight:400}code{font-size:13px}
"""


@dataclass
class ReportParts:
    """What goes on the page; ``evaluation`` and ``map_html`` are optional sections."""

    title: str
    summary: dict[str, list[tuple[str, Any]]]
    neighbours: list[tuple[Row, list[Row]]]
    evaluation: dict[str, list[Row]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    map_html: str | None = None
    map_caption: str = ""


@dataclass(frozen=True)
class ReportRequest:
    """What the report shows, passed keyword-only to :func:`make_report` (as ``TrainRequest`` is).

    ``tests`` (held-out files) add the evaluation section, scored as ``scoring`` says (modes,
    hybrid values, the model's parts) against the baselines of ``train_files``; ``popular`` items'
    ``neighbours``; ``map_options`` None: no map.
    """

    title: str
    tests: Sequence[str] = ()
    train_files: Sequence[str] = ()
    baselines: bool = True
    ks: tuple[int, ...] = (10,)
    popular: int = 8
    neighbours: int = 8
    map_options: Mapping[str, Any] | None = None
    scoring: ScoreRequest | None = None


def make_report(
    embeddings: Embeddings,
    output: Path,
    *,
    request: ReportRequest,
    force: bool = False,
    on_note: Callable[[str], None] | None = None,
) -> Path:
    """Write the report ``request`` describes for ``embeddings`` to ``output`` (an .html file).

    The evaluation's notes (which method won) go on the page and to ``on_note``.

    Raises:
        InputError: ``output`` is not an .html file.
        OutputExistsError: ``output`` exists and ``force`` is false.
        MissingDependencyError: the map needs plotly (the ``plot`` extra).
    """
    from item2vec.files import atomic_bytes
    from item2vec.visual.plot import check_file

    if output.suffix.lower() not in (".html", ".htm"):
        raise InputError(
            f"{param('output', str(output))}: a report is an .html file",
            param="output",
            value=str(output),
            expected="an .html file",
        )
    check_file(output, force=force)
    parts = ReportParts(
        title=request.title,
        summary=summary_tables(embeddings),
        neighbours=popular_neighbours(embeddings, request.popular, request.neighbours),
    )
    if request.tests:
        parts.evaluation, parts.notes = evaluation_sections(
            embeddings, list(request.tests), train_files=list(request.train_files), baselines=request.baselines,
            ks=request.ks, scoring=request.scoring,
        )  # fmt: skip
        for note in parts.notes:
            if on_note is not None:
                on_note(note)
    if request.map_options is not None:
        parts.map_html, parts.map_caption = map_section(embeddings, dict(request.map_options))
    atomic_bytes(output, render_page(parts).encode("utf-8"))
    return output


def evaluation_sections(
    embeddings: Embeddings,
    tests: list[str],
    *,
    train_files: list[str],
    baselines: bool,
    ks: tuple[int, ...],
    scoring: ScoreRequest | None = None,
) -> tuple[dict[str, list[Row]], list[str]]:
    """Next-item metrics of the model (per score mode) and its baselines on ``tests``, as
    ``item2vec evaluate`` computes them."""
    from item2vec.evaluation.runner import EvaluateRequest, read_files, run_evaluation

    scoring = scoring or ScoreRequest()
    request = EvaluateRequest(
        test=read_files(tests),
        train=read_files(train_files) if train_files else None,
        baselines=baselines,
        ks=ks,
        parts=scoring.parts,
        scores=scoring.scores,
        hybrid_weight=scoring.hybrid_weight,
        hybrid_base=scoring.hybrid_base,
    )
    evaluation = run_evaluation(embeddings, request=request)
    # The page is the command line's: parameters its notes name read as flags (--score next).
    return evaluation.sections, [spell(note, flag_name) for note in evaluation.notes]


def map_section(embeddings: Embeddings, options: dict[str, Any]) -> tuple[str, str]:
    """The interactive map as an HTML fragment, and a caption saying what it shows."""
    from item2vec.extras import require
    from item2vec.visual.itemmap import METHOD_NAMES, item_map
    from item2vec.visual.plot import COLOR_TITLES, map_div

    require("plotly", "the report's map")
    points = item_map(embeddings, **options)
    colour = COLOR_TITLES.get(points.color_by) or f"colour: {points.color_by}"
    caption = (
        f"{METHOD_NAMES[points.method]} of {len(points.ids):,} of {points.total:,} items (unit vectors); "
        f"{colour}. Point size grows with the training count; hover for names; "
        "click a legend entry to hide it."
    )
    return map_div(points), caption


def summary_tables(embeddings: Embeddings) -> dict[str, list[tuple[str, Any]]]:
    """The ``info`` record as titled groups of (field, value)."""
    record = info_record(embeddings)
    groups: dict[str, list[tuple[str, Any]]] = {title: [] for title in SUMMARY_GROUPS.values()}
    other: list[tuple[str, Any]] = []
    for key, value in record.items():
        if key in SUMMARY_GROUPS and isinstance(value, dict):
            groups[SUMMARY_GROUPS[key]].extend(_flatten(value))
        elif isinstance(value, dict):
            other.extend(_flatten(value, f"{key}."))
        else:
            groups["Model"].append((key, value))
    groups["Model"].extend(other)
    return {title: rows for title, rows in groups.items() if rows}


def _flatten(record: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in record.items():
        if isinstance(value, Mapping) and value:
            out.extend(_flatten(value, f"{prefix}{key}."))
        else:
            out.append((f"{prefix}{key}", value))
    return out


def popular_neighbours(embeddings: Embeddings, popular: int, k: int) -> list[tuple[Row, list[Row]]]:
    """The ``popular`` most frequent items, each with its ``k`` nearest neighbours."""
    if popular <= 0 or len(embeddings) < 2:
        return []
    import numpy as np

    counts = np.asarray(embeddings.counts)
    top = sorted(range(len(embeddings)), key=lambda r: (-int(counts[r]), r))[:popular]
    queries = [embeddings.ids[r] for r in top]
    answers = similar(embeddings, queries, k)
    out: list[tuple[Row, list[Row]]] = []
    for row in top:
        item = embeddings.ids[row]
        head = {"item": item, "name": embeddings.names.get(item, ""), "count": int(counts[row])}
        found = [
            {
                "rank": n.rank,
                "item": n.item,
                "name": n.name or "",
                "count": int(counts[embeddings.index[n.item]]),
                "score": round(n.score, 4),
            }
            for n in answers
            if n.query == item
        ]
        out.append((head, found))
    return out


# --- HTML ----------------------------------------------------------------------------------------


def render_page(parts: ReportParts) -> str:
    """The whole page as one string."""
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        f"<h1>{_e(parts.title)}</h1>",
        f'<p class="sub">item2vec {_e(__version__)} report, written {created}</p>',
        _summary_html(parts.summary),
    ]
    if parts.evaluation:
        body.append(_evaluation_html(parts.evaluation, parts.notes))
    if parts.map_html:
        body += ["<h2>Map</h2>", f'<p class="muted">{_e(parts.map_caption)}</p>', parts.map_html]
    body.append(_neighbours_html(parts.neighbours))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(parts.title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _summary_html(summary: dict[str, list[tuple[str, Any]]]) -> str:
    blocks = []
    for title, rows in summary.items():
        cells = "".join(f"<tr><th>{_e(k)}</th>{_td(v)}</tr>" for k, v in rows)
        blocks.append(f"<div><h3>{_e(title)}</h3><table>{cells}</table></div>")
    return '<h2 id="summary">Training summary</h2>\n<div class="blocks">' + "".join(blocks) + "</div>"


def _evaluation_html(sections: dict[str, list[Row]], notes: list[str]) -> str:
    parts = ['<h2 id="evaluation">Evaluation</h2>']
    for name, rows in sections.items():
        if not rows:
            continue
        if len(sections) > 1:
            parts.append(f"<h3>{_e(name)}</h3>")
        parts.append(html_table(rows, best=_best_cells(rows)))
    parts += [f'<p class="note">note: {_e(note)}</p>' for note in notes]
    parts.append(
        '<p class="muted">Each test sequence\'s last item is the target; methods rank the whole '
        "catalogue. Bold: the best value of each metric.</p>"
    )
    return "\n".join(parts)


def _best_cells(rows: list[Row]) -> set[tuple[int, str]]:
    """(row, column) of the highest value in every metric column (``name@k``)."""
    best: set[tuple[int, str]] = set()
    for column in rows[0]:
        if "@" not in column:
            continue
        values = [
            (float(r[column]), i) for i, r in enumerate(rows) if isinstance(r.get(column), (int, float))
        ]
        if len(values) > 1:
            top = max(v for v, _ in values)
            best |= {(i, column) for v, i in values if v == top}
    return best


def _neighbours_html(neighbours: list[tuple[Row, list[Row]]]) -> str:
    parts = ['<h2 id="neighbours">Neighbours of popular items</h2>']
    if not neighbours:
        parts.append('<p class="muted">The model has too few items.</p>')
    cards = []
    for head, rows in neighbours:
        name = f" — {_e(head['name'])}" if head["name"] else ""
        title = f'<code>{_e(head["item"])}</code>{name} <span class="muted">({_uses(head["count"])})</span>'
        columns = ["rank", "item", "name", "count", "score"] if any(r["name"] for r in rows) else None
        table = html_table(rows, columns=columns or ["rank", "item", "count", "score"])
        cards.append(f"<div><h3>{title}</h3>{table}</div>")
    parts.append('<div class="cards">' + "\n".join(cards) + "</div>")
    return "\n".join(parts)


def html_table(
    rows: Sequence[Row], *, columns: Sequence[str] | None = None, best: set[tuple[int, str]] | None = None
) -> str:
    """An escaped HTML table of ``rows``; numbers right-aligned, ``best`` cells in bold."""
    cols = list(columns) if columns is not None else list(rows[0]) if rows else []
    numeric = {c for c in cols if rows and all(_is_number(r.get(c)) for r in rows)}
    head = "".join(f'<th class="num">{_e(c)}</th>' if c in numeric else f"<th>{_e(c)}</th>" for c in cols)
    body = []
    for i, row in enumerate(rows):
        cells = "".join(_td(row.get(c), bold=(i, c) in (best or set()), fixed=True) for c in cols)
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _uses(count: int) -> str:
    return f"{count:,} use" + ("" if count == 1 else "s")


def _td(value: Any, *, bold: bool = False, fixed: bool = False) -> str:
    """A cell; ``fixed`` writes floats with 4 decimals, so a column of scores lines up."""
    classes = (["num"] if _is_number(value) else []) + (["best"] if bold else [])
    attr = f' class="{" ".join(classes)}"' if classes else ""
    text = f"{value:.4f}" if fixed and isinstance(value, float) and abs(value) < 1000 else _text(value)
    return f"<td{attr}>{_e(text)}</td>"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ""
    return str(value)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)
