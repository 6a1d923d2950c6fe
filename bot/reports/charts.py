"""The /stats chart as a PNG: requests per day (or week, or month) with the closed part and the
completion rate, then the breakdowns by category and by area.

Drawn with matplotlib's Agg backend on Figure objects (never pyplot's global state), so it is
safe in a worker thread; matplotlib is imported only when a chart is drawn (it is slow to
import). Chinese labels need a CJK font: the system's Noto Sans CJK (fonts-noto-cjk), else the
optional `manimgx-fonts-cjk` package (`pip install civicloop[cjk-font]`); with none, the caller
draws in English, and the bot says so once at start-up."""

from __future__ import annotations

import importlib.util
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Fonts with simplified Chinese glyphs, best first. Where their files are: the system's Noto
# Sans CJK collection (Debian and Ubuntu's fonts-noto-cjk; Fedora's google-noto-sans-cjk), else
# the optional pip package.
SYSTEM_CJK_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
                    "/usr/share/fonts/**/NotoSansCJK*.ttc",
                    "/usr/share/fonts/**/NotoSansCJKsc-Regular.otf")
FONT_PACKAGE, FONT_FILE = "manimgx_fonts_cjk", "NotoSansCJK-VF.otf.ttc"
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "Source Han Sans CN",
                "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Droid Sans Fallback",
                "Microsoft YaHei", "PingFang SC", "SimHei", "AR PL UMing CN")
COLLECTED, CLOSED, RATE = "#9ecae1", "#2171b5", "#e6550d"
BREAKDOWN_ROWS = 12  # rows a breakdown panel shows (the rest are summed into one)


@dataclass(frozen=True)
class Bar:
    """One bar: a day (or week, month), a category or an area."""

    label: str
    collected: int
    closed: int


@dataclass(frozen=True)
class Chart:
    """Everything drawn, already in the reader's words."""

    title: str
    series_title: str
    series: list[Bar]
    rates: list[float | None]  # completion rate (%) up to each bar of the series
    categories_title: str
    categories: list[Bar]
    areas_title: str
    areas: list[Bar]  # empty: no area panel
    words: dict[str, str] = field(default_factory=dict)  # collected, closed, rate


@dataclass(frozen=True)
class Font:
    """A CJK font matplotlib knows, by family and the weight it registered."""

    family: str
    weight: Any


_font_lock = threading.Lock()
_font_found: list[Font | None] = []  # filled once: [] unknown yet, [None] none found


def cjk_font() -> Font | None:
    """Find (once) a font that draws Chinese, or None."""
    with _font_lock:
        if not _font_found:
            _font_found.append(_find_cjk_font())
        return _font_found[0]


def cjk_font_file() -> Path | None:
    """A font file with Chinese glyphs, found without loading matplotlib: the system's Noto
    Sans CJK (Debian's fonts-noto-cjk), else the optional pip package (`civicloop[cjk-font]`)."""
    for pattern in SYSTEM_CJK_FILES:
        found = sorted(Path("/").glob(pattern.lstrip("/")))
        if found:
            return found[0]
    spec = importlib.util.find_spec(FONT_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            packaged = Path(folder) / FONT_FILE
            if packaged.exists():
                return packaged
    return None


def _find_cjk_font() -> Font | None:
    from matplotlib import font_manager

    manager = font_manager.fontManager
    known = {entry.name: entry for entry in manager.ttflist}
    if not any(family in known for family in CJK_FAMILIES):
        path = cjk_font_file()
        if path is not None:
            try:
                manager.addfont(str(path))  # every face of a collection, SC among them
            except (OSError, RuntimeError) as exc:
                log.warning("cannot read the CJK font %s: %s", path, exc)
            known = {entry.name: entry for entry in manager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            # A variable font registers its default instance's weight: ask for exactly that,
            # or matplotlib warns on every lookup that "normal" is missing.
            return Font(family, known[family].weight)
    log.warning("no CJK font found: charts are drawn with English labels")
    return None


def render(chart: Chart, path: Path, font: Font | None) -> None:
    """Draw the chart into a PNG file at `path` (blocking: run it in a worker thread)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    text: dict[str, Any] = {}
    if font is not None:
        text["fontproperties"] = FontProperties(family=font.family, weight=font.weight)
    panels = [chart.categories, *([chart.areas] if chart.areas else [])]
    heights = [3.6, *(0.8 + 0.32 * len(_top(rows)) for rows in panels)]
    figure = Figure(figsize=(10, sum(heights) + 0.9), dpi=110, layout="constrained")
    grid = figure.add_gridspec(len(heights), 1, height_ratios=heights)
    figure.suptitle(chart.title, fontsize=14, **text)

    axes = figure.add_subplot(grid[0])
    x = list(range(len(chart.series)))
    axes.bar(x, [b.collected for b in chart.series], color=COLLECTED,
             label=chart.words["collected"])
    axes.bar(x, [b.closed for b in chart.series], color=CLOSED, label=chart.words["closed"],
             width=0.5)
    axes.set_title(chart.series_title, loc="left", **text)
    step = max(1, -(-len(x) // 14))  # at most 14 labels under the bars
    axes.set_xticks(x[::step], [b.label for b in chart.series][::step], rotation=0, fontsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlim(-0.6, max(len(x), 1) - 0.4)
    rate_axes = axes.twinx()
    rate_axes.plot(x, [float("nan") if r is None else r for r in chart.rates], color=RATE,
                   marker="o" if len(x) <= 31 else "", markersize=3,
                   label=chart.words["rate"])
    rate_axes.set_ylim(0, 105)
    rate_axes.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    handles = [*axes.get_legend_handles_labels()[0], *rate_axes.get_legend_handles_labels()[0]]
    legend_font = {"prop": text["fontproperties"]} if text else {}
    # Above the bars, right of the panel's title, so it never hides a bar
    axes.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3,
                fontsize=8, frameon=False, borderaxespad=0.2, **legend_font)

    for index, (title, rows) in enumerate(
            [(chart.categories_title, chart.categories), (chart.areas_title, chart.areas)]):
        if rows:
            _breakdown(figure.add_subplot(grid[1 + index]), title, rows, chart, text)
    figure.savefig(path, format="png")


def _top(rows: list[Bar]) -> list[Bar]:
    """The biggest rows, the rest summed into one labelled '…'."""
    if len(rows) <= BREAKDOWN_ROWS:
        return rows
    shown, rest = rows[:BREAKDOWN_ROWS - 1], rows[BREAKDOWN_ROWS - 1:]
    return [*shown, Bar(f"… (+{len(rest)})", sum(b.collected for b in rest),
                        sum(b.closed for b in rest))]


def _breakdown(axes: Any, title: str, rows: list[Bar], chart: Chart,
               text: dict[str, Any]) -> None:
    """Horizontal bars, biggest on top: collected, with the closed part over it."""
    from matplotlib.ticker import MaxNLocator

    shown = _top(rows)
    y = list(range(len(shown)))
    axes.barh(y, [b.collected for b in shown], color=COLLECTED, label=chart.words["collected"])
    axes.barh(y, [b.closed for b in shown], color=CLOSED, height=0.45,
              label=chart.words["closed"])
    axes.set_yticks(y, [b.label for b in shown], fontsize=9, **text)
    axes.invert_yaxis()
    axes.set_title(title, loc="left", **text)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    widest = max((b.collected for b in shown), default=0)
    axes.set_xlim(0, max(widest * 1.15, 1))
    for row, bar in zip(y, shown, strict=True):
        axes.text(bar.collected, row, f" {bar.collected} / {bar.closed}", va="center",
                  fontsize=8)


@dataclass(frozen=True)
class Panel:
    """One panel of a chart of breakdowns: bars (a whole with its part over it, labelled
    "whole / part"), or rates in percent (`rates`, one per row, None: no base)."""

    title: str
    rows: list[Bar]
    rates: list[float | None] | None = None


def render_panels(title: str, panels: list[Panel], path: Path, font: Font | None,
                  words: dict[str, str]) -> None:
    """Draw a chart of horizontal breakdown panels (supervision's) into a PNG at `path`
    (blocking: run it in a worker thread). `words` names the whole and the part."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import PercentFormatter

    text: dict[str, Any] = {}
    if font is not None:
        text["fontproperties"] = FontProperties(family=font.family, weight=font.weight)
    shown = [panel for panel in panels if panel.rows]
    heights = [0.8 + 0.32 * len(_top(panel.rows)) for panel in shown] or [1.0]
    figure = Figure(figsize=(10, sum(heights) + 0.9), dpi=110, layout="constrained")
    grid = figure.add_gridspec(len(heights), 1, height_ratios=heights)
    figure.suptitle(title, fontsize=14, **text)
    chart = Chart(title="", series_title="", series=[], rates=[], categories_title="",
                  categories=[], areas_title="", areas=[],
                  words={"collected": words["whole"], "closed": words["part"]})
    for index, panel in enumerate(shown):
        axes = figure.add_subplot(grid[index])
        if panel.rates is None:
            _breakdown(axes, panel.title, panel.rows, chart, text)
            continue
        rows = panel.rows[:BREAKDOWN_ROWS]
        rates = [0.0 if r is None else r for r in panel.rates[:BREAKDOWN_ROWS]]
        y = list(range(len(rows)))
        axes.barh(y, rates, color=RATE)
        axes.set_yticks(y, [b.label for b in rows], fontsize=9, **text)
        axes.invert_yaxis()
        axes.set_title(panel.title, loc="left", **text)
        axes.set_xlim(0, 110)
        axes.xaxis.set_major_formatter(PercentFormatter(decimals=0))
        for row, rate, bar in zip(y, panel.rates[:BREAKDOWN_ROWS], rows, strict=True):
            shown_rate = "—" if rate is None else f"{rate:.0f}%"
            axes.text(0 if rate is None else rate, row,
                      f" {shown_rate} ({bar.closed}/{bar.collected})", va="center", fontsize=8)
    figure.savefig(path, format="png")
