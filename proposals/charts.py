"""Charts drawn on the server as SVG, from the statistics selectors' rows.

Pure functions: rows in, an escaped SVG string out, so a page needs no JavaScript and no library
from anywhere. The shapes of a chart (a co-objection matrix has some 1,300) are joined from
f-strings, every label and name escaped through `_e`: a `format_html` per shape cost a third of
the chart pages' rendering. Each chart is paired on its page with a table of the same numbers and
a CSV download.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from html import escape

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

# Dark enough for white labels (contrast 4.5:1 or better) and distinct from one another.
PALETTE = ["#1f4e89", "#a34700", "#2e6b30", "#7a1f5c", "#5b4a9e", "#6b5800", "#a3142c", "#1b6070"]
# Light to dark blue for the heat map. Labels turn white from the fifth step on; dark text keeps
# 4.5:1 on the fourth.
HEAT = ["#f1f5fb", "#c6dbef", "#8fb8dc", "#4a86bf", "#245a97", "#0d3468"]
TEXT = "#1a1a1a"
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def _e(value) -> str:
    """Escape a label or name for the SVG exactly as `format_html` would (Django's `escape` is
    the standard library's `html.escape` of the string). Numbers need no escaping."""
    return escape(str(value))


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _svg(width: int, height: int, title: str, desc: str, key: str, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-labelledby="{k}-title {k}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{k}-title">{t}</title><desc id="{k}-desc">{d}</desc>{b}</svg>',
        w=width,
        h=height,
        k=key,
        t=title,
        d=desc,
        b=body,
    )


@dataclass
class Pivot:
    """Objections per participant (rows) per year (columns), busiest participants first."""

    participants: list[tuple[str, str]]  # (code, name)
    years: list[int]
    counts: dict[tuple[str, int], int]
    totals: dict[str, int]
    all_participants: int

    def row(self, code: str) -> list[int]:
        return [self.counts.get((code, year), 0) for year in self.years]

    @property
    def table(self) -> list[dict]:
        return [
            {"code": code, "name": name, "counts": self.row(code), "total": self.totals[code]}
            for code, name in self.participants
        ]

    @property
    def year_totals(self) -> list[int]:
        return [
            sum(self.counts.get((code, year), 0) for code, _ in self.participants)
            for year in self.years
        ]


def objections_pivot(rows, names: dict[str, str], limit: int = 30) -> Pivot:
    counts: dict[tuple[str, int], int] = {}
    totals: dict[str, int] = defaultdict(int)
    years = set()
    for row in rows:
        code, year, n = row["participant__code"], row["year"], row["objections"]
        counts[(code, year)] = n
        totals[code] += n
        years.add(year)
    ranked = sorted(totals, key=lambda code: (-totals[code], code))
    return Pivot(
        participants=[(code, names.get(code, code)) for code in ranked[:limit]],
        # Objections to decisions taken outside any meeting have no meeting year: shown last.
        years=sorted(years, key=lambda year: (year is None, year or 0)),
        counts=counts,
        totals=dict(totals),
        all_participants=len(ranked),
    )


def objections_chart(pivot: Pivot) -> SafeString:
    """Horizontal bars, one per participant, stacked by year."""
    label_w, bar_w, row_h, top = 230, 400, 26, 34
    biggest = max(pivot.totals.values(), default=0) or 1
    scale = bar_w / biggest
    legend = format_html_join(
        "",
        '<rect x="{}" y="8" width="14" height="14" fill="{}"/>'
        '<text x="{}" y="19" fill="' + TEXT + '">{}</text>',
        (
            (
                label_w + i * 70,
                PALETTE[i % len(PALETTE)],
                label_w + i * 70 + 18,
                "no meeting" if year is None else year,
            )
            for i, year in enumerate(pivot.years)
        ),
    )
    parts = [legend]
    for index, (code, name) in enumerate(pivot.participants):
        y = top + index * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" fill="{TEXT}">'
            f"{_e(_short(name, 20))} ({_e(code)})</text>"
        )
        x = label_w
        for year_index, n in enumerate(pivot.row(code)):
            if not n:
                continue
            width = n * scale
            parts.append(
                f'<rect x="{round(x, 1)}" y="{y + 3}" width="{round(width, 1)}" '
                f'height="{row_h - 6}" fill="{PALETTE[year_index % len(PALETTE)]}">'
                f"<title>{_e(name)}, {_e(pivot.years[year_index])}: {n}</title></rect>"
            )
            if width >= 18:
                parts.append(
                    f'<text x="{round(x + width / 2, 1)}" y="{y + 17}" text-anchor="middle" '
                    f'fill="#fff">{n}</text>'
                )
            x += width
        parts.append(
            f'<text x="{round(x + 6, 1)}" y="{y + 17}" fill="{TEXT}">{pivot.totals[code]}</text>'
        )
    height = top + max(len(pivot.participants), 1) * row_h + 8
    return _svg(
        label_w + bar_w + 40,
        height,
        "Objections per participant per year",
        "Horizontal bars, one per participant, each divided by year; the table below gives the "
        "same numbers.",
        "objections-chart",
        mark_safe("".join(parts)),  # every label in the parts went through format_html or _e
    )


@dataclass
class Matrix:
    codes: list[str]
    names: dict[str, str]
    together: dict[frozenset, int]
    all_participants: int

    def cell(self, a: str, b: str) -> int:
        return 0 if a == b else self.together.get(frozenset((a, b)), 0)

    @property
    def table(self) -> list[dict]:
        return [
            {
                "code": a,
                "name": self.names.get(a, a),
                "cells": [self.cell(a, b) for b in self.codes],
            }
            for a in self.codes
        ]

    @property
    def biggest(self) -> int:
        return max(self.together.values(), default=0)


def co_objection_matrix(pairs, names: dict[str, str], limit: int = 25) -> Matrix:
    together: dict[frozenset, int] = {}
    weight: dict[str, int] = defaultdict(int)
    for pair in pairs:
        together[frozenset((pair["a"], pair["b"]))] = pair["together"]
        weight[pair["a"]] += pair["together"]
        weight[pair["b"]] += pair["together"]
    ranked = sorted(weight, key=lambda code: (-weight[code], code))
    codes = sorted(ranked[:limit])
    return Matrix(codes, names, together, len(ranked))


def heat_step(n: int, biggest: int) -> int:
    if n <= 0 or biggest <= 0:
        return 0
    return 1 + min(len(HEAT) - 2, (n - 1) * (len(HEAT) - 1) // biggest)


def co_objection_chart(matrix: Matrix) -> SafeString:
    """A symmetric heat map: the darker a cell, the more decisions both objected to."""
    cell, left, top = 30, 44, 44
    size = len(matrix.codes)
    parts = []
    for i, code in enumerate(matrix.codes):
        parts.append(
            f'<text x="{left + i * cell + cell / 2}" y="{top - 10}" text-anchor="middle" '
            f'fill="{TEXT}">{_e(code)}</text>'
            f'<text x="{left - 6}" y="{top + i * cell + cell / 2 + 4}" text-anchor="end" '
            f'fill="{TEXT}">{_e(code)}</text>'
        )
    biggest = matrix.biggest
    names = {code: _e(matrix.names.get(code, code)) for code in matrix.codes}
    for row, a in enumerate(matrix.codes):
        for column, b in enumerate(matrix.codes):
            n = matrix.cell(a, b)
            step = heat_step(n, biggest)
            x, y = left + column * cell, top + row * cell
            fill = "#ffffff" if a == b else HEAT[step]
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}" '
                f'stroke="#767676" stroke-width="0.5"><title>{names[a]} and {names[b]}: {n}'
                "</title></rect>"
            )
            if n:
                parts.append(
                    f'<text x="{x + cell / 2}" y="{y + cell / 2 + 4}" text-anchor="middle" '
                    f'fill="{"#ffffff" if step >= 4 else TEXT}">{n}</text>'
                )
    width = left + max(size, 1) * cell + 10
    return _svg(
        width,
        top + max(size, 1) * cell + 10,
        "Co-objection matrix",
        "Each cell counts the decisions that both participants objected to; darker is more. "
        "The table below gives the same numbers.",
        "co-objection-chart",
        mark_safe("".join(parts)),  # every label in the parts went through _e
    )


def removed_items_chart(meetings: list) -> SafeString:
    """Horizontal bars: agenda items removed by objection at each meeting, oldest first."""
    label_w, bar_w, row_h = 240, 330, 26
    biggest = max((m.items_removed for m in meetings), default=0) or 1
    scale = bar_w / biggest
    parts = []
    for index, meeting in enumerate(meetings):
        y = 8 + index * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" fill="{TEXT}">'
            f"{_e(_short(str(meeting), 34))}</text>"
        )
        width = meeting.items_removed * scale
        if width:
            parts.append(
                f'<rect x="{label_w}" y="{y + 3}" width="{round(width, 1)}" '
                f'height="{row_h - 6}" fill="{PALETTE[1]}">'
                f"<title>{_e(meeting)}: {meeting.items_removed} removed</title></rect>"
            )
        parts.append(
            f'<text x="{round(label_w + width + 6, 1)}" y="{y + 17}" fill="{TEXT}">'
            f"{meeting.items_removed}</text>"
        )
    return _svg(
        label_w + bar_w + 40,
        16 + max(len(meetings), 1) * row_h,
        "Agenda items removed per meeting",
        "Horizontal bars, one per meeting, oldest first; the table below gives the same numbers.",
        "removed-chart",
        mark_safe("".join(parts)),  # every label in the parts went through _e
    )
