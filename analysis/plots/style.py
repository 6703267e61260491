"""The look every figure shares: colours, orders, axes, footnotes, the watermark, the files.

Colours and orders are fixed so a condition, class or stroke level looks the same in every
figure: conditions in CONDITIONS order with CONDITION_COLORS, classes sorted, stroke levels
ascending on a log2 axis with a sequential palette. Labels are data (class and model names),
so draw functions run under `plain_text`: a `$` in a class name stays a `$`.
"""

import functools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from sketchlab.contracts import CONDITIONS, WITH_NONE, WITHOUT_NONE
from sketchlab.reference import paper_numbers

CONDITION_COLORS = {WITHOUT_NONE: "#1b6ca8", WITH_NONE: "#d1495b"}
CONDITION_LABELS = {WITHOUT_NONE: 'without "none" (forced choice)', WITH_NONE: 'with "none"'}
PNG_DPI = 130
SIMULATED_MARK = "SIMULATED DATA"


def plain_text(draw):
    """Run a draw function with mathtext off, so labels drawn from data show as written
    (a text's parsing is fixed when it is created, so saving later is safe)."""

    @functools.wraps(draw)
    def without_mathtext(*args, **kwargs):
        with plt.rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)

    return without_mathtext


def level_palette(levels) -> dict[int, tuple]:
    """Stroke level -> colour, light (few strokes) to dark (many), stable for a level set."""
    levels = sorted(int(level) for level in levels)
    return dict(zip(levels, sns.color_palette("crest", len(levels)), strict=True))


def save_figure(fig: plt.Figure, out_stem: Path, simulated: bool = False) -> list[Path]:
    """Write `<out_stem>.png` and `.svg` and close the figure; `simulated` stamps it with a
    watermark, so a figure of simulated answers cannot pass for a result once copied out of
    the report."""
    if simulated:
        width, height = fig.get_size_inches()
        fig.text(
            0.5, 0.5, SIMULATED_MARK, rotation=np.degrees(np.arctan2(height, width)),
            ha="center", va="center", color="#b00020", alpha=0.13, fontweight="bold",
            fontsize=max(28.0, 6.5 * min(width, 2.2 * height)), zorder=100,
        )  # fmt: skip
    out_stem = Path(out_stem)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [out_stem.with_name(out_stem.name + suffix) for suffix in (".png", ".svg")]
    # One tight box for both files (bbox_inches="tight" would lay the figure out twice per file).
    box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.1)
    fig.savefig(paths[0], dpi=PNG_DPI, bbox_inches=box)
    with plt.rc_context({"svg.fonttype": "none"}):  # text stays text: smaller, faster, editable
        fig.savefig(paths[1], bbox_inches=box)
    plt.close(fig)
    return paths


def footnote(fig: plt.Figure, lines: list[str], y: float = 0.0) -> None:
    """Small grey lines under the figure (below y, in figure coordinates): what a number in
    it rests on, so the caveat travels with the figure."""
    fig.text(0.01, y, "\n".join(lines), fontsize=8, color="#555", ha="left", va="top")


def paper_note() -> str:
    """The caveat on the paper's 76% (reference_numbers.json), for figures that draw it."""
    return paper_numbers()["figure_note"]


def conditions_in(table: pd.DataFrame) -> list[str]:
    """The conditions of `table`, in CONDITIONS order."""
    present = set(table["condition"])
    return [c for c in CONDITIONS if c in present]


def yerr(value, low, high) -> np.ndarray:
    """Error-bar lengths below/above (never negative from rounding at 0% or 100%)."""
    value, low, high = (np.asarray(v, dtype=float) for v in (value, low, high))
    return np.clip(np.vstack([value - low, high - value]), 0, None)


def log2_axis(ax: plt.Axes, levels) -> None:
    """Stroke levels (or sample sizes) on a log2 x axis, one labelled tick per value."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(levels, [str(level) for level in levels])
    ax.minorticks_off()
    ax.set_xlim(min(levels) / 1.3, max(levels) * 1.3)
