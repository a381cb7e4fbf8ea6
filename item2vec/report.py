"""Words for people: the training summary and the ``info`` record."""

from __future__ import annotations

from typing import Any

from item2vec.embeddings import Embeddings
from item2vec.pipeline import TrainSummary


def summary_lines(summary: TrainSummary) -> list[str]:
    """The closing summary of ``train``: what was read, dropped, kept and how fast."""
    stats, config = summary.stats, summary.config
    lines = [
        f"Read {stats.events_read:,} {_unit(stats.input_format)} ({stats.input_format}) in {summary.read_seconds:.1f} s"
    ]
    if stats.rows_dropped:
        total = sum(stats.rows_dropped.values())
        reasons = ", ".join(f"{n:,} {why}" for why, n in stats.rows_dropped.items())
        lines.append(f"Dropped {total:,} rows: {reasons}")
    short = (
        f" ({stats.sessions_dropped_short:,} shorter than --min-length dropped)"
        if stats.sessions_dropped_short
        else ""
    )
    lines.append(f"Sequences: {stats.sessions:,}{short}, {stats.tokens:,} items in all")
    lines.append(
        f"Items: {summary.items_kept:,} kept, {summary.items_dropped:,} dropped by --min-count {config.min_count}"
        + (f"; {summary.named_items:,} with names" if summary.named_items else "")
    )
    lines.append(
        f"Trained preset {config.preset} (context {config.context}, dim {config.dim}, window {config.window}, "
        f"{config.epochs} epochs, {config.workers} workers) in {summary.train_seconds:.1f} s: "
        f"{summary.items_per_second:,.0f} items/s"
    )
    lines.append(f"Peak memory {summary.peak_rss_mb:,.0f} MB; model saved to {summary.output}")
    return lines


def _unit(fmt: str) -> str:
    return "lines" if fmt in ("sequences", "text") else "events"


def info_record(embeddings: Embeddings) -> dict[str, Any]:
    """Everything ``info`` shows: size first, then model.json."""
    meta = dict(embeddings.meta)
    head = {
        "items": len(embeddings),
        "dim": embeddings.dim,
        "named_items": len(embeddings.names),
        "dropped_items": len(embeddings.dropped),
    }
    for key in ("items", "dim"):
        meta.pop(key, None)
    return {**head, **meta}
