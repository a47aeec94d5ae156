"""The book's one figure style, and the checks that every figure keeps it.

``use_book_style()`` (``setup()`` calls it, so every chapter has it) sets matplotlib's defaults
and, in a notebook, renders each figure as a PNG at ``SCALE`` (2x) its display resolution,
shown at its display size: sharp on high-density screens and in print.  Each PNG carries a
``rlvae-figure`` text chunk with the figure's smallest font, which the built-site tests read back
to check every figure as a reader's browser shows it.

The rules (issue 18): colours from the Okabe-Ito palette, which readers with any common colour
vision deficiency can tell apart, *and* a second cue wherever colour carries meaning (line style,
marker, hatch or a text label); no text smaller than ``MIN_FONT_PX`` CSS pixels once the figure is
scaled to the page's column (``COLUMN_PX`` wide); legends never on top of data; axis labels in
words, with units.
"""

from __future__ import annotations

import io
import json
from typing import Any

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text

# Okabe & Ito (2008), "Color universal design": blue, orange, bluish green, vermillion, reddish
# purple, sky blue, black, yellow (last: weakest on white).
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 2, 2, 2)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo", "--")
SCALE = 2  # PNG pixels per display pixel
DISPLAY_DPI = 100  # display pixels per inch of figure size (CSS pixels)
COLUMN_PX = 672  # the article column of a built page in a 1280 px window (tests/test_browser.py measures each figure as shown)
MIN_FONT_PX = 10.0  # the smallest text a figure may show, in CSS pixels, once fitted to the column
FIGURE_CHUNK = "rlvae-figure"

RC: dict[str, Any] = {
    "figure.dpi": DISPLAY_DPI,
    "savefig.dpi": SCALE * DISPLAY_DPI,
    "savefig.bbox": "tight",
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.title_fontsize": 10,
    "figure.titlesize": 12,
    "legend.frameon": False,
    "axes.prop_cycle": cycler(color=list(OKABE_ITO)) + cycler(linestyle=list(LINESTYLES)),
    "image.cmap": "viridis",
    "lines.linewidth": 1.6,
}


def use_book_style() -> None:
    """Apply the book's matplotlib defaults, and its 2x PNG rendering inside IPython."""
    mpl.rcParams.update(RC)
    _register_inline_png()


def legend_outside(ax: Any, **kwargs: Any) -> Any:
    """A legend to the right of the axes, outside the data (``kwargs`` go to ``ax.legend``)."""
    return ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), **kwargs)


def _texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
            and (t.axes is None or t.axes.get_visible())]


def min_font_pt(fig: Figure) -> float:
    """The smallest font size (points) of any visible text of ``fig``."""
    sizes = [t.get_fontsize() for t in _texts(fig)]
    return float(min(sizes)) if sizes else float("inf")


def displayed_px(font_pt: float, width_px: float, column_px: float = COLUMN_PX) -> float:
    """CSS pixels of ``font_pt`` text in a figure ``width_px`` display pixels wide, shown in a
    column ``column_px`` wide (browsers shrink a wider image to the column, never enlarge it)."""
    return font_pt * DISPLAY_DPI / 72.0 * min(1.0, column_px / width_px)


def _data_points(ax: Any) -> np.ndarray:
    """Display coordinates ``(N, 2)`` of the axes' line vertices, scatter points and bar tops."""
    points = []
    for line in ax.get_lines():
        xy = line.get_xydata()
        if len(xy):
            points.append(line.get_transform().transform(xy))
    for coll in ax.collections:
        if isinstance(coll, PathCollection) and len(coll.get_offsets()):
            points.append(coll.get_offset_transform().transform(coll.get_offsets()))
    for patch in ax.patches:
        if isinstance(patch, Rectangle) and patch.get_visible():
            box = patch.get_window_extent()
            points.append(np.array([[box.x0, box.y1], [box.x1, box.y1], [box.x0, box.y0], [box.x1, box.y0]]))
    return np.concatenate(points) if points else np.zeros((0, 2))


def legend_overlaps(fig: Figure) -> list[str]:
    """Titles of the axes whose legend sits on top of their data (after a draw)."""
    renderer = fig.canvas.get_renderer()
    bad = []
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None or not legend.get_visible():
            continue
        box = legend.get_window_extent(renderer)
        points = _data_points(ax)
        points = points[np.isfinite(points).all(1)]
        inside = ((points[:, 0] > box.x0) & (points[:, 0] < box.x1)
                  & (points[:, 1] > box.y0) & (points[:, 1] < box.y1))
        if inside.any():
            bad.append(ax.get_title() or ax.get_ylabel() or "an axes")
    return bad


def _cue(handle: Any) -> tuple:
    """What tells a legend entry apart besides its colour."""
    if isinstance(handle, Line2D):  # custom dashes all report "--": compare the pattern itself
        return ("line", str(handle.get_linestyle()), str(getattr(handle, "_unscaled_dash_pattern", "")),
                str(handle.get_marker()))
    if isinstance(handle, PathCollection) and handle.get_paths():  # scatter: its marker's shape
        return ("marker", tuple(np.round(handle.get_paths()[0].vertices, 3).ravel()))
    hatch = handle.get_hatch() if hasattr(handle, "get_hatch") else None
    if hatch is None and hasattr(handle, "patches") and handle.patches:  # a bar container
        hatch = handle.patches[0].get_hatch()
    return ("patch", str(hatch))


def colour_only_legends(fig: Figure) -> list[str]:
    """Legends whose entries differ by colour alone (two entries share every other cue)."""
    bad = []
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        handles, _ = ax.get_legend_handles_labels()
        cues = [_cue(h) for h in handles]
        if len(set(cues)) < len(cues):
            bad.append(ax.get_title() or ax.get_ylabel() or "an axes")
    return bad


def figure_report(fig: Figure) -> dict[str, Any]:
    """What the checks need of a drawn figure: smallest font, display width, legend problems."""
    fig.canvas.draw()
    width_px = fig.get_size_inches()[0] * DISPLAY_DPI
    return {"min_font_pt": min_font_pt(fig), "width_px": float(width_px),
            "legend_overlaps": legend_overlaps(fig), "colour_only_legends": colour_only_legends(fig)}


def check_figure(fig: Figure, column_px: float = COLUMN_PX) -> list[str]:
    """Everything about ``fig`` that breaks the book's figure rules (empty when it keeps them)."""
    report = figure_report(fig)
    problems = []
    px = displayed_px(report["min_font_pt"], report["width_px"], column_px)
    if px < MIN_FONT_PX:
        small = sorted({(t.get_fontsize(), t.get_text()[:20]) for t in _texts(fig)
                        if displayed_px(t.get_fontsize(), report["width_px"], column_px) < MIN_FONT_PX})
        small = [f"{text!r} {size:g} pt" for size, text in small]
        problems.append(f"text of {px:.1f} px at a {column_px:g} px column (< {MIN_FONT_PX:g}): {small[:5]}")
    problems += [f"legend over the data in {t!r}" for t in report["legend_overlaps"]]
    problems += [f"legend entries told apart by colour only in {t!r}" for t in report["colour_only_legends"]]
    for ax in fig.axes:
        for label in (ax.get_xlabel(), ax.get_ylabel()):
            if "_" in label.replace("\\_", "").split("$")[0]:
                problems.append(f"axis label {label!r} is a variable name: label it in words")
    return problems


def render_png(fig: Figure) -> tuple[bytes, dict[str, int]]:
    """``fig`` as a PNG at ``SCALE`` x its display resolution, with its display size and report.

    Returns ``(png_bytes, {"width": w, "height": h})``: the display size in CSS pixels, which
    myst-nb writes on the ``<img>``.
    """
    report = figure_report(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=SCALE * DISPLAY_DPI, bbox_inches="tight",
                metadata={FIGURE_CHUNK: json.dumps(report)})
    data = buffer.getvalue()
    width, height = (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"))  # IHDR
    report["width_px"] = width / SCALE
    # the tight box changes the width: store the report of the image as saved
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=SCALE * DISPLAY_DPI, bbox_inches="tight",
                metadata={FIGURE_CHUNK: json.dumps({**report, "dpi": SCALE * DISPLAY_DPI})})
    return buffer.getvalue(), {"width": width // SCALE, "height": height // SCALE}


def _register_inline_png() -> None:
    """In IPython, draw figures with ``render_png`` instead of matplotlib-inline's 1x PNG."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    import matplotlib.pyplot as plt

    plt.close(plt.figure())  # resolves the inline backend now, so it cannot override this later
    formatter = shell.display_formatter.formatters["image/png"]
    formatter.for_type(Figure, render_png)
