"""Bar charts as inline SVG, drawn as text: no matplotlib on a public page's road (a page is
drawn in microseconds, not a worker thread's second), the words stay text the browser
renders in the reader's fonts (Chinese included) and reads aloud, and nothing is fetched."""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass

WIDTH = 960
FONT = 'font-family="sans-serif"'


@dataclass(frozen=True)
class Series:
    """One set of bars: its name in the legend, its colour and a value per label."""

    name: str
    colour: str
    values: list[float]


def _text(value: str) -> str:
    return html.escape(value, quote=True)


def _step(top: float) -> float:
    """A tick step of 1, 2 or 5 times a power of ten giving at most 5 ticks up to `top`."""
    if top <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(top / 5))
    for factor in (1, 2, 5, 10):
        if top / (factor * power) <= 5:
            return float(max(factor * power, 1))
    return float(10 * power)


def _legend(series: list[Series], x: float, y: float) -> list[str]:
    out = []
    for one in series:
        out.append(f'<rect x="{x:.1f}" y="{y - 11:.1f}" width="14" height="14" '
                   f'fill="{one.colour}"/>')
        out.append(f'<text x="{x + 20:.1f}" y="{y:.1f}" font-size="15" {FONT}>'
                   f'{_text(one.name)}</text>')
        # No text metrics server-side: about half the font size per Latin letter, the whole
        # size per Chinese character.
        x += 34 + sum(7.0 if char.isascii() else 15.5 for char in one.name)
    return out


def columns(title: str, labels: list[str], whole: Series, parts: list[Series],
            shown: Callable[[float], str], notes: list[str] | None = None) -> str:
    """Columns per label: `whole` wide, `parts` stacked narrower over it (their sum is at most
    the whole), the whole's value written above; `notes` under the labels."""
    height, left, top, bottom = 340, 60, 58, 64 if notes else 44
    plot_w, plot_h = WIDTH - left - 16, height - top - bottom
    biggest = max(whole.values, default=0)
    step = _step(biggest)
    ceiling = step * max(1, math.ceil(biggest / step)) if biggest else step
    slot = plot_w / max(len(labels), 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
           f'role="img" aria-label="{_text(title)}" class="chart">',
           f'<title>{_text(title)}</title>',
           f'<text x="{left}" y="22" font-size="17" font-weight="bold" {FONT}>'
           f'{_text(title)}</text>',
           *_legend([whole, *parts], left, 46)]
    for n in range(int(ceiling / step) + 1):
        value = n * step
        y = top + plot_h - plot_h * value / ceiling
        out.append(f'<line x1="{left}" x2="{WIDTH - 16}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 5:.1f}" font-size="13" text-anchor="end" '
                   f'{FONT}>{_text(shown(value))}</text>')
    for index, label in enumerate(labels):
        middle = left + slot * (index + 0.5)
        value = whole.values[index]
        bar_h = plot_h * value / ceiling
        out.append(f'<rect x="{middle - slot * 0.36:.1f}" y="{top + plot_h - bar_h:.1f}" '
                   f'width="{slot * 0.72:.1f}" height="{bar_h:.1f}" fill="{whole.colour}"/>')
        base = float(top + plot_h)
        for part in parts:
            part_h = plot_h * part.values[index] / ceiling
            base -= part_h
            out.append(f'<rect x="{middle - slot * 0.2:.1f}" y="{base:.1f}" '
                       f'width="{slot * 0.4:.1f}" height="{part_h:.1f}" fill="{part.colour}"/>')
        if value:
            out.append(f'<text x="{middle:.1f}" y="{top + plot_h - bar_h - 5:.1f}" '
                       f'font-size="13" text-anchor="middle" {FONT}>{_text(shown(value))}'
                       f'</text>')
        out.append(f'<text x="{middle:.1f}" y="{top + plot_h + 20:.1f}" font-size="14" '
                   f'text-anchor="middle" {FONT}>{_text(label)}</text>')
        if notes:
            out.append(f'<text x="{middle:.1f}" y="{top + plot_h + 40:.1f}" font-size="12" '
                       f'fill="#555" text-anchor="middle" {FONT}>{_text(notes[index])}</text>')
    out.append("</svg>")
    return "".join(out)


def rows(title: str, labels: list[str], whole: Series, parts: list[Series]) -> str:
    """Horizontal bars per label, biggest first as given: `whole` with `parts` stacked over
    it, written "whole / sum of parts" at the end."""
    left, top, row_h = 220, 58, 30
    height = top + row_h * max(len(labels), 1) + 12
    plot_w = WIDTH - left - 110
    biggest = max(whole.values, default=0) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
           f'role="img" aria-label="{_text(title)}" class="chart">',
           f'<title>{_text(title)}</title>',
           f'<text x="16" y="22" font-size="17" font-weight="bold" {FONT}>{_text(title)}</text>',
           *_legend([whole, *parts], 16, 46)]
    for index, label in enumerate(labels):
        y = top + row_h * index
        value = whole.values[index]
        width = plot_w * value / biggest
        out.append(f'<text x="{left - 8}" y="{y + 20}" font-size="14" text-anchor="end" '
                   f'{FONT}>{_text(label)}</text>')
        out.append(f'<rect x="{left}" y="{y + 5}" width="{width:.1f}" height="{row_h - 8}" '
                   f'fill="{whole.colour}"/>')
        start = float(left)
        for part in parts:
            part_w = plot_w * part.values[index] / biggest
            out.append(f'<rect x="{start:.1f}" y="{y + 10}" width="{part_w:.1f}" '
                       f'height="{row_h - 18}" fill="{part.colour}"/>')
            start += part_w
        done = sum(part.values[index] for part in parts)
        out.append(f'<text x="{left + width + 6:.1f}" y="{y + 20}" font-size="13" {FONT}>'
                   f'{value:g} / {done:g}</text>')
    out.append("</svg>")
    return "".join(out)
