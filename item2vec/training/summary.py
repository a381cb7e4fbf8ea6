"""What one ``train`` run did: the record shared by the gensim pipeline and the Spark engine, in words."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from item2vec.corpus.packed import CorpusStats
from item2vec.errors import param
from item2vec.training.config import TrainConfig
from item2vec.training.memory import peak_rss_mb


@dataclass
class TrainSummary:
    """What one ``train`` run did, for the closing summary."""

    stats: CorpusStats
    config: TrainConfig
    items_kept: int
    items_dropped: int
    named_items: int
    read_seconds: float
    train_seconds: float
    items_per_second: float
    peak_rss_mb: float
    output: Path
    inferred_items: int = 0
    feed: str = "stream"  # how gensim was fed (stream | file), or "spark" for --engine spark
    walks: dict[str, Any] | None = None  # model.json's "walks" record (item2vec.training.walks)
    transitions: dict[str, Any] | None = None  # model.json's "transitions" record
    scoring: dict[str, Any] | None = None  # model.json's "scoring" record (given, or calibrated)
    search: dict[str, Any] | None = None  # model.json's "search" record (a small log's trials)

    def __post_init__(self) -> None:
        # Made once the run is over (saved too): the peak is the process's, every stage counted.
        self.peak_rss_mb = max(self.peak_rss_mb, peak_rss_mb())


def summary_lines(summary: TrainSummary) -> list[str]:
    """The closing summary of ``train``: what was read, dropped, kept and how fast. Parameters
    are named with :func:`~item2vec.errors.param`: the edge spells them (``errors.spell``)."""
    stats, config = summary.stats, summary.config
    lines = [
        f"Read {stats.events_read:,} {_unit(stats.input_format)} ({stats.input_format}) in {summary.read_seconds:.1f} s"
        + ("; already in user/time order, not re-sorted" if stats.input_sorted else "")
    ]
    if stats.rows_dropped:
        total = sum(stats.rows_dropped.values())
        reasons = ", ".join(f"{n:,} {why}" for why, n in stats.rows_dropped.items())
        lines.append(f"Dropped {total:,} rows: {reasons}")
    short = (
        f" ({stats.sessions_dropped_short:,} shorter than {param('min_length')} dropped)"
        if stats.sessions_dropped_short
        else ""
    )
    lines.append(f"Sequences: {stats.sessions:,}{short}, {stats.tokens:,} items in all")
    lines.append(
        f"Items: {summary.items_kept:,} kept, {summary.items_dropped:,} dropped by {param('min_count', config.min_count)}"
        + (f"; {summary.named_items:,} with names" if summary.named_items else "")
        + (f"; {summary.inferred_items:,} inferred from features" if summary.inferred_items else "")
    )
    if summary.walks:
        lines.append(_walks_line(summary.walks))
    lines.append(
        f"Trained preset {config.preset} (context {config.context}, dim {config.dim}, window {config.window}, "
        f"{config.epochs} epochs, {_engine(summary)}) in {summary.train_seconds:.1f} s: "
        f"{summary.items_per_second:,.0f} items/s"
    )
    if summary.transitions:
        t = summary.transitions
        kept = (
            "neighbours within {} steps either way"
            if t.get("direction") == "both"
            else "followers within {} steps"
        )
        lines.append(
            f"Transitions: {t['entries']:,} (up to {t['keep']} {kept.format(t['steps'])}, for "
            f"{t['items_with_followers']:,} items; {t['megabytes']:.1f} MB) in {t['build_seconds']:.1f} s"
        )
    search = summary.search
    if search and "tried" in search:
        chosen = ", ".join(f"{param(name, value)}" for name, value in search["chosen"].items())
        lines.append(
            f"Small log: kept {chosen} of {len(search['tried'])} trials in {search['seconds']:.1f} s "
            f"(budget {search['budget_seconds']:g} s): {search['why']}"
        )
    calibration = (summary.scoring or {}).get("calibration")
    if calibration:
        lines.append(_calibration_line(calibration))
    lines.append(f"Peak memory {summary.peak_rss_mb:,.0f} MB; model saved to {summary.output}")
    return lines


def _calibration_line(calibration: dict[str, Any]) -> str:
    if "skipped" in calibration:
        return f"Scoring: the default, not calibrated ({calibration['skipped']})"
    held = "last items"
    if "from_sequences" in calibration:  # a small log: several of a sequence's last items
        held = f"items (up to the last {calibration['per_sequence']} of {calibration['from_sequences']:,} sequences)"
    line = (
        f"Scoring: {calibration['chosen']} for recommend, calibrated on {calibration['cases']:,} held-out "
        f"{held} in {calibration['seconds']:.1f} s: {calibration['why']}"
    )
    seen = calibration.get("seen_items")
    if seen and "skipped" in seen:
        line += f"; whole histories not calibrated ({seen['skipped']})"
    elif seen and "chosen" in seen:  # how a whole history is scored: its decay and its seen items
        line += (
            f"; from whole histories ({seen['next_item_seen_share']:.0%} of next items already seen): "
            f"{seen['chosen']} ({seen['why']})"
        )
    return line


def _walks_line(walks: dict[str, Any]) -> str:
    bias = f" (p {walks['p']:g}, q {walks['q']:g})" if "p" in walks else ""
    corpus = "walks and sequences" if walks["mix"] == "both" else "walks only"
    return (
        f"Walks: {walks['method']}{bias}, {walks['walks']:,} walks ({walks['walk_items']:,} items) over "
        f"{walks['graph_nodes']:,} items and {walks['graph_edges']:,} "
        f"{'directed' if walks['directed'] else 'undirected'} edges in {walks['walk_seconds']:.1f} s; "
        f"trained on {corpus}"
    )


def _engine(summary: TrainSummary) -> str:
    if summary.feed == "spark":
        return "Spark MLlib, hierarchical softmax"
    workers = summary.config.workers
    return f"{workers} worker{'s' if workers != 1 else ''}, corpus {summary.feed}"


def _unit(fmt: str) -> str:
    return "lines" if fmt in ("sequences", "text") else "events"
