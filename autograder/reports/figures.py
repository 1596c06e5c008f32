"""The class report's figures: matplotlib charts as inline SVG (``Markup``, for the HTML page).

Each function takes numbers only (no student's text reaches a figure) and returns the
``<svg>`` element alone (no XML prolog), with text kept as text (``svg.fonttype: none``) so
the SVG stays small and the page renders it in the page's own font.
"""
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from markupsafe import Markup  # noqa: E402

INK, BAR, MEDIAN, QUARTILE = "#1d2939", "#2e90fa", "#b42318", "#f79009"
STYLE = {"svg.fonttype": "none", "font.size": 8, "axes.edgecolor": "#98a2b3", "axes.labelcolor": INK,
         "xtick.color": INK, "ytick.color": INK, "axes.spines.top": False, "axes.spines.right": False}


def _svg(figure):
    """The ``<svg>`` element of ``figure`` (closed afterwards)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", transparent=True)
    plt.close(figure)
    text = buffer.getvalue()
    return Markup(text[text.index("<svg"):])


def totals_histogram(totals, max_score, quartiles):
    """Histogram of the graded totals (20 bins from 0 to ``max_score``), the median and quartiles marked."""
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(6.4, 2.2))
        axes.hist(totals, bins=np.linspace(0, max_score or 1, 21), color=BAR, edgecolor="white")
        if quartiles:
            q1, mid, q3 = quartiles
            axes.axvline(mid, color=MEDIAN, linewidth=1.5, label=f"median {mid:g}")
            for q in (q1, q3):
                axes.axvline(q, color=QUARTILE, linewidth=1, linestyle="--")
            axes.plot([], [], color=QUARTILE, linestyle="--", label=f"quartiles {q1:g}, {q3:g}")
            axes.legend(frameon=False, loc="upper left")
        axes.set_xlim(0, max_score or 1)
        axes.set_xlabel("total score")
        axes.set_ylabel("submissions")
        axes.yaxis.get_major_locator().set_params(integer=True)
        return _svg(figure)


def item_bars(counts, points):
    """Bar chart of one item: how many graded students got each score; full marks in green."""
    scores, heights = list(counts), list(counts.values())
    colours = ["#12b76a" if s >= points - 1e-6 else "#f04438" if s == 0 else QUARTILE for s in scores]
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(2.4, 1.0))
        axes.bar(range(len(scores)), heights, color=colours, width=0.7)
        axes.set_xticks(range(len(scores)), [f"{s:g}" for s in scores])
        axes.set_xlabel(f"points of {points:g}")
        axes.yaxis.get_major_locator().set_params(integer=True)
        return _svg(figure)
