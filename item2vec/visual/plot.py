"""Draw an ``ItemMap``: interactive HTML with plotly (names on hover), static PNG/SVG/PDF with matplotlib."""

from __future__ import annotations

import html
import io
import math
from pathlib import Path
from typing import Any

from item2vec.errors import InputError, OutputExistsError, param
from item2vec.extras import require
from item2vec.files import atomic_bytes, check_writable
from item2vec.model.embeddings import Embeddings
from item2vec.visual.itemmap import ItemMap, item_map

HTML_SUFFIXES = (".html", ".htm")
IMAGE_SUFFIXES = (".png", ".svg", ".pdf")
# matplotlib's tab10, so the HTML and the image use the same colours
QUALITATIVE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
# darkest = most frequent band; no pale yellow, which vanishes on white
SEQUENTIAL = ("#0d0887", "#7e03a8", "#cc4778", "#f89540")
GREY = "#b0b0b0"
WEBGL_ABOVE = 5000  # SVG up to here (works everywhere), WebGL beyond (fast)
LABEL_CHARS = 30
COLOR_TITLES = {
    "cluster": "k-means cluster: commonest name words (items)",
    "frequency": "popularity band (training count)",
    "none": "",
}


def plot(
    embeddings: Embeddings, output: Path, *, force: bool = False, **options: Any
) -> tuple[Path, ItemMap]:
    """Write a map of ``embeddings`` to ``output`` (.html, or .png/.svg/.pdf); options go to ``item_map``.

    Raises:
        InputError: the output suffix is not one we draw.
        OutputExistsError: ``output`` exists and ``force`` is false.
        MissingDependencyError: plotly or matplotlib (the ``plot`` extra) is missing.
    """
    suffix = output.suffix.lower()
    if suffix not in HTML_SUFFIXES + IMAGE_SUFFIXES:
        raise InputError(
            f"{param('output', str(output))}: give a .html (interactive) or .png, .svg or .pdf file name",
            param="output",
            value=str(output),
            expected="a .html, .png, .svg or .pdf file name",
        )
    check_file(output, force=force)
    require("plotly" if suffix in HTML_SUFFIXES else "matplotlib", f"writing {suffix}")
    points = item_map(embeddings, **options)
    data = map_html(points).encode("utf-8") if suffix in HTML_SUFFIXES else map_image(points, suffix[1:])
    atomic_bytes(output, data)
    return output, points


def check_file(path: Path, *, force: bool) -> None:
    """Refuse a directory, an existing file unless ``force``, and a place we cannot write."""
    if path.is_dir():
        raise OutputExistsError(f"{str(path)!r} is a directory: give a file name")
    if path.exists() and not force:
        raise OutputExistsError(
            f"{str(path)!r} already exists: use {param('force', True)} to overwrite it",
            param="output",
            value=str(path),
            fix="overwrite it",
        )
    check_writable(path)


def colours(points: ItemMap) -> dict[str, str]:
    """Legend entry → colour: sequential for ordered bands, tab10 otherwise, grey for the leftovers."""
    palette = SEQUENTIAL if points.ordered and len(points.legend) <= len(SEQUENTIAL) else QUALITATIVE
    out: dict[str, str] = {}
    for i, group in enumerate(points.legend):
        leftover = group.startswith(("other (", "(not in table)"))
        out[group] = GREY if leftover else palette[i % len(palette)]
    return out


def label_text(points: ItemMap, i: int) -> str:
    text = points.names[i] or points.ids[i]
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"


def caption(points: ItemMap) -> str:
    """What sizes and labels mean, for the static image."""
    spread = " of each colour" if points.color_by != "frequency" and len(points.legend) > 1 else ""
    return (
        "Point size: training count.\n"
        f"Labels: the most frequent items{spread};\nlabels that would overlap are left out."
        + ("\nHover names: item2vec plot -o map.html" if points.labels else "")
    )


def marker_size(count: int) -> float:
    """Area grows with the log of the count, so popular items stand out without hiding others."""
    return 2.0 + 1.5 * math.log10(max(count, 1))


# plotly ---------------------------------------------------------------------------------------------


def plotly_figure(points: ItemMap) -> Any:
    """A plotly Figure: one trace per legend entry, name, id, count and group on hover."""
    go = require("plotly.graph_objects", "an HTML map")
    colour = colours(points)
    figure = go.Figure()
    for group in points.legend:
        members = [i for i, g in enumerate(points.groups) if g == group]
        hover = [
            f"<b>{html.escape(points.names[i] or points.ids[i])}</b><br>id {html.escape(points.ids[i])}"
            f"<br>count {points.counts[i]:,}<br>{html.escape(group)}"
            for i in members
        ]
        figure.add_trace(
            (go.Scattergl if len(points.ids) > WEBGL_ABOVE else go.Scatter)(
                x=points.xy[members, 0].tolist(),
                y=points.xy[members, 1].tolist(),
                mode="markers",
                name=html.escape(group),
                text=hover,
                hovertemplate="%{text}<extra></extra>",
                marker={
                    "color": colour[group],
                    "size": [2 * marker_size(points.counts[i]) for i in members],
                    "opacity": 0.75,
                    "line": {"width": 0},
                },
            )
        )
    figure.update_layout(
        title={"text": html.escape(points.title)},
        xaxis_title=points.axes[0],
        yaxis_title=points.axes[1],
        legend_title_text=COLOR_TITLES.get(points.color_by, html.escape(points.color_by)),
        template="plotly_white",
        height=720,
        hoverlabel={"align": "left"},
    )
    return figure


def map_html(points: ItemMap) -> str:
    """A whole HTML page with plotly.js inlined: works offline, no CDN."""
    html_page: str = plotly_figure(points).to_html(include_plotlyjs=True, full_html=True)
    return html_page.replace("<head>", f"<head>\n    <title>{html.escape(points.title)}</title>", 1)


def map_div(points: ItemMap, *, include_plotlyjs: bool = True) -> str:
    """The map as an HTML fragment (a div and its script) for embedding in a page."""
    fragment: str = plotly_figure(points).to_html(
        include_plotlyjs=include_plotlyjs, full_html=False, default_height="640px"
    )
    return fragment


# matplotlib -----------------------------------------------------------------------------------------


def map_image(points: ItemMap, fmt: str = "png") -> bytes:
    """The static image as bytes (png, svg or pdf)."""
    figure = map_figure(points, rasterize=fmt != "png" and len(points.ids) > 2000)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, facecolor="white")
    return buffer.getvalue()


def map_figure(points: ItemMap, *, rasterize: bool = False) -> Any:
    """A matplotlib Figure: coloured points, a legend outside the plot, non-overlapping labels.

    No pyplot and no global backend change: safe inside notebooks and servers.
    """
    require("matplotlib", "a static map")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(13, 9), dpi=150, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    colour = colours(points)
    # least popular band first, so the popular items are drawn on top
    for group in reversed(points.legend) if points.ordered else points.legend:
        members = [i for i, g in enumerate(points.groups) if g == group]
        axes.scatter(
            points.xy[members, 0],
            points.xy[members, 1],
            s=[marker_size(points.counts[i]) ** 2 for i in members],
            c=colour[group],
            alpha=0.55,
            linewidths=0,
            label=group,
            rasterized=rasterize,
        )
    axes.set_title(points.title, fontsize=13, loc="left")
    axes.set_xlabel(points.axes[0])
    axes.set_ylabel(points.axes[1])
    axes.tick_params(labelsize=8)
    axes.grid(True, color="#eeeeee", linewidth=0.6)
    axes.set_axisbelow(True)
    _legend(axes, points)
    axes.annotate(
        caption(points),
        xy=(1.01, 0.0),
        xycoords="axes fraction",
        ha="left",
        va="bottom",
        fontsize=8,
        color="#555555",
        gid="caption",
    )
    figure.canvas.draw()  # lay out once; labels are then placed against final extents
    figure.set_layout_engine("none")
    _labels(figure, axes, points)
    return figure


def _legend(axes: Any, points: ItemMap) -> None:
    """The legend outside the plot, its markers opaque and of one size (none for a single group)."""
    if len(points.legend) <= 1:
        return
    handles = dict(zip(*reversed(axes.get_legend_handles_labels())))
    legend = axes.legend(
        [handles[g] for g in points.legend],
        points.legend,
        title=COLOR_TITLES.get(points.color_by, points.color_by),
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        title_fontsize=9,
        frameon=False,
        markerscale=1.0,
    )
    for handle in legend.legend_handles:
        if handle is not None:
            handle.set_alpha(1.0)
            handle.set_sizes([40])


_OFFSETS = (
    (5, 3, "left", "bottom"),
    (-5, 3, "right", "bottom"),
    (5, -3, "left", "top"),
    (-5, -3, "right", "top"),
)


def _labels(figure: Any, axes: Any, points: ItemMap) -> None:
    """Label the most frequent items, skipping any label that would overlap one already placed."""
    if not points.labelled:
        return
    renderer = figure.canvas.get_renderer()
    inside = axes.get_window_extent(renderer)
    placed: list[Any] = []
    shown: set[str] = set()
    for i in points.labelled[: 20 * points.labels]:
        if len(placed) >= points.labels:
            break
        x, y = float(points.xy[i, 0]), float(points.xy[i, 1])
        words = label_text(points, i)
        words = f"{words} [{points.ids[i]}]" if words in shown else words  # two items, one name
        for dx, dy, ha, va in _OFFSETS:
            text = axes.annotate(
                words,
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=7,
                color="#222222",
                gid="label",
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.7},
            )
            box = text.get_window_extent(renderer).expanded(1.05, 1.15)
            fits = inside.contains(box.x0, box.y0) and inside.contains(box.x1, box.y1)
            if fits and not any(box.overlaps(other) for other in placed):
                placed.append(box)
                shown.add(words)
                axes.scatter([x], [y], s=marker_size(points.counts[i]) ** 2, facecolors="none",
                             edgecolors="#222222", linewidths=0.7)  # fmt: skip
                break
            text.remove()
