"""Rows → table / json / jsonl / csv / tsv. The only module that knows output formats."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMATS = ("table", "json", "jsonl", "csv", "tsv")
Row = dict[str, Any]


def render(
    rows: Sequence[Row], fmt: str, *, columns: Sequence[str] | None = None, group: str | None = None
) -> str:
    """Render ``rows`` (dicts with the same keys) in ``fmt``; ends with a newline unless empty.

    ``group`` names a column that splits a table into titled blocks (one per value); the
    machine formats keep it as an ordinary column.
    """
    cols = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    if fmt == "json":
        return json.dumps([{c: r.get(c) for c in cols} for r in rows], indent=2, ensure_ascii=False) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps({c: r.get(c) for c in cols}, ensure_ascii=False) + "\n" for r in rows)
    if fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        return delimited_line(cols, sep) + "".join(
            delimited_line([_plain(r.get(c)) for c in cols], sep) for r in rows
        )
    if fmt == "table":
        return _blocks(rows, cols, group)
    raise ValueError(f"unknown format {fmt!r}")


class StreamRenderer:
    """Rows that arrive in blocks (a batch job's output) rendered as one document in ``fmt``.

    CSV/TSV get one header, JSON one array, a table one titled block per ``group`` value
    (separated as :func:`render` separates them); nothing is held beyond one block.
    """

    def __init__(self, fmt: str, *, group: str | None = None) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        self.fmt, self.group, self.started = fmt, group, False

    def block(self, rows: Sequence[Row]) -> str:
        """The text for the next block of rows."""
        if not rows:
            return ""
        first, self.started = not self.started, True
        if self.fmt == "json":
            body = ",\n".join(
                textwrap.indent(json.dumps(dict(r), indent=2, ensure_ascii=False), "  ") for r in rows
            )
            return ("[\n" if first else ",\n") + body
        if self.fmt in ("csv", "tsv"):
            text = render(rows, self.fmt)
            return text if first else text.partition("\n")[2]
        return ("" if first or self.fmt == "jsonl" else "\n") + render(rows, self.fmt, group=self.group)

    def end(self) -> str:
        """What closes the document (JSON's bracket)."""
        if self.fmt == "json":
            return "\n]\n" if self.started else "[]\n"
        return ""


def _plain(value: Any) -> Any:
    return "" if value is None else value


def delimited_line(fields: Iterable[Any], delimiter: str) -> str:
    """One CSV/TSV line, ``\\n``-terminated, that any CSV reader splits back into ``fields``.

    A field is quoted (quotes doubled) when it holds the delimiter, a quote, ``\\n`` or ``\\r``:
    Python's csv writer leaves a bare ``\\r`` unquoted, and every reader then ends the row there.
    """
    cells = ["" if f is None else str(f) for f in fields]
    line = delimiter.join(_quoted(c, delimiter) for c in cells)
    return ('""' if cells == [""] else line) + "\n"


def _quoted(cell: str, delimiter: str) -> str:
    if delimiter in cell or any(ch in cell for ch in '"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _blocks(rows: Sequence[Row], cols: list[str], group: str | None) -> str:
    if group is None or group not in cols:
        return table(rows, cols)
    inner = [c for c in cols if c != group]
    parts: list[str] = []
    order: dict[Any, list[Row]] = {}
    for row in rows:
        order.setdefault(row.get(group), []).append(row)
    for key, block in order.items():
        parts.append(f"{group}: {key}\n{table(block, inner)}")
    return "\n".join(parts)


def table(rows: Sequence[Row], cols: list[str]) -> str:
    """An aligned text table: numbers right-aligned, floats to 4 decimals, whole numbers with
    thousands separators in a column that holds one of 10,000 or more (all of its numbers then)."""
    if not cols:
        return ""
    grouped = {c for c in cols if any(_whole(r.get(c)) and abs(r[c]) >= _GROUPED for r in rows)}
    cells = [[_cell(r.get(c), grouped=c in grouped) for c in cols] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    numeric = [
        all(isinstance(r.get(c), (int, float)) and not isinstance(r.get(c), bool) for r in rows) and rows
        for c in cols
    ]
    lines = [
        "  ".join(c.ljust(w) if not n else c.rjust(w) for c, w, n in zip(cols, widths, numeric)).rstrip()
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append(
            "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(row, widths, numeric)).rstrip()
        )
    return "\n".join(lines) + "\n"


_GROUPED = 10_000  # whole numbers from here on get thousands separators (1,234 only beside them)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _cell(value: Any, *, grouped: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if _whole(value):
        return f"{value:,}" if grouped or abs(value) >= _GROUPED else str(value)
    return str(value)


def _field(value: Any) -> Any:
    """A record's value: a float too small for 4 decimals keeps its digits (sample 1e-05, not 0.0000)."""
    if isinstance(value, float) and value != 0 and abs(value) < 0.00005:
        return f"{value:.3g}"
    return value


def render_record(record: Row, fmt: str) -> str:
    """Render one record of fields: an object in json/jsonl, field/value rows otherwise."""
    if fmt == "json":
        return json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    if fmt == "jsonl":
        return json.dumps(record, ensure_ascii=False) + "\n"
    rows = [{"field": key, "value": _field(_flat(value))} for key, value in _walk(record)]
    return render(rows, fmt, columns=["field", "value"])


def _walk(record: Row, prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.extend(_walk(value, name + "."))
        else:
            out.append((name, value))
    return out


def _flat(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ""
    return value


def render_sections(sections: Mapping[str, Sequence[Row]], fmt: str) -> str:
    """Render several named tables (``evaluate``'s next-item, analogies, pairs).

    json is one object of row lists keyed by section; the other formats render each section in
    turn (titled blocks in a table when there are several, blank-line separated in csv/tsv).
    """
    if fmt == "json":
        payload = {name: [dict(row) for row in rows] for name, rows in sections.items()}
        return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    parts = [render(rows, fmt) for rows in sections.values()]
    if fmt == "jsonl":
        return "".join(parts)
    if fmt == "table" and len(sections) > 1:
        parts = [f"{name}:\n{part}" for name, part in zip(sections, parts)]
    return "\n".join(parts)
