"""Server-side SVG charts: plain markup, no JavaScript, readable in a PDF and in a browser page.

Three generic shapes, each fed with ``(label, value)`` pairs and returning safe SVG markup:

- :func:`bar_chart`: one horizontal bar per category (kinds, channels, services...);
- :func:`column_chart`: vertical columns in order, e.g. one per month;
- :func:`share_bar`: one bar filled to a percentage ("87 % acknowledged within the delay").

Every value is also written as text next to its bar, so a chart never carries information that only
colour or length conveys, and a black-and-white print stays readable. Labels are escaped (they may be
names typed in the admin); markup is built with ``format_html`` only. Sizes are in SVG user units;
the ``viewBox`` lets the page's CSS scale the chart to its column width. No text is smaller than
9 units: drawn at least at its size (the evidence pack scales a 480-unit chart up to ~510 pt), it
stays at or above 9 pt in print.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .text import shorten

FONT = "DejaVu Sans, Arial, sans-serif"
BAR_COLOUR = "#1f5f8b"
TRACK_COLOUR = "#e5e9ee"
TEXT_COLOUR = "#1d2329"
LATE_COLOUR = "#a4262c"

Items = Iterable[tuple[str, float]]


def format_number(value: float, decimals: int = 0) -> str:
    """French figures: thin no-break space between thousands, comma before decimals."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")


LINE_HEIGHT = 12  # of a 10-unit label line


def _truncate(label: str, limit: int) -> str:
    return shorten(label, limit)


def wrap_label(label: str, limit: int, max_lines: int | None = 1) -> list[str]:
    """``label`` on lines of at most ``limit`` characters, cut between words (a word longer than a
    line is split). Beyond ``max_lines`` lines (None: no limit) the last one is shortened with "…"."""
    words = " ".join(str(label).split()).split(" ")
    lines: list[str] = []
    current = ""
    for word in words:
        while len(word) > limit:  # a URL, a code: split it rather than overflow the label column
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:limit])
            word = word[limit:]
        if current and len(current) + 1 + len(word) > limit:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current or not lines:
        lines.append(current)
    if max_lines is not None and len(lines) > max_lines:
        kept = lines[:max_lines - 1]
        rest = " ".join(lines[max_lines - 1:])
        return [*kept, _truncate(rest, limit)]
    return lines


def _join(parts: Sequence[SafeString]) -> SafeString:
    return format_html_join("", "{}", ((part,) for part in parts))


def _svg(width: float, height: float, title: str, body: Sequence[SafeString]) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{}" width="{}" height="{}" '
        'viewBox="0 0 {} {}" font-family="{}" font-size="10" fill="{}"><title>{}</title>{}</svg>',
        title, _n(width), _n(height), _n(width), _n(height), FONT, TEXT_COLOUR, title, _join(body),
    )


def _n(value: float) -> str:
    """A coordinate: short, locale-free."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _empty(title: str, width: float, message: str) -> SafeString:
    return _svg(width, 28, title, [format_html('<text x="0" y="18" font-style="italic">{}</text>', message)])


def bar_chart(
    items: Items,
    *,
    title: str,
    width: float = 480,
    label_width: float = 200,
    max_label_chars: int = 30,
    max_label_lines: int | None = 1,
    colour: str = BAR_COLOUR,
    empty_message: str = "Aucune donnée sur la période.",
) -> SafeString:
    """Horizontal bars, one per ``(label, value)``, in the given order, with the value after each bar.

    A label longer than ``max_label_chars`` wraps onto up to ``max_label_lines`` lines (None: as
    many as it needs, so that no label is ever cut), its row growing to hold them; past that, its
    last line is shortened with "…".
    """
    rows = [(wrap_label(str(label), max_label_chars, max_label_lines), float(value)) for label, value in items]
    if not rows:
        return _empty(title, width, empty_message)
    bar_height, gap = 16, 6
    value_width = 46
    track = width - label_width - value_width
    top = max((value for _, value in rows), default=0) or 1
    body = []
    y = 0.0
    for lines, value in rows:
        row_height = max(bar_height, len(lines) * LINE_HEIGHT + 4)
        bar_y = y + (row_height - bar_height) / 2
        first_baseline = y + (row_height - len(lines) * LINE_HEIGHT) / 2 + LINE_HEIGHT - 2
        length = track * value / top
        body.extend(
            format_html('<text x="{}" y="{}" text-anchor="end">{}</text>',
                        _n(label_width - 6), _n(first_baseline + number * LINE_HEIGHT), line)
            for number, line in enumerate(lines)
        )
        body.append(format_html(
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
            '<text x="{}" y="{}">{}</text>',
            _n(label_width), _n(bar_y), _n(max(length, 0.5 if value else 0)), bar_height, colour,
            _n(label_width + length + 4), _n(bar_y + bar_height - 4),
            format_number(value, 0 if value.is_integer() else 1),
        ))
        y += row_height + gap
    return _svg(width, y - gap, title, body)


def column_chart(
    items: Items,
    *,
    title: str,
    width: float = 480,
    height: float = 150,
    colour: str = BAR_COLOUR,
    max_label_chars: int = 10,
    empty_message: str = "Aucune donnée sur la période.",
) -> SafeString:
    """Vertical columns in the given order (months...), the value above each non-empty column.

    Beyond twelve columns only every n-th label is written, so that labels never overlap.
    """
    columns = [(str(label), float(value)) for label, value in items]
    if not columns:
        return _empty(title, width, empty_message)
    label_band, value_band = 28, 14
    plot = height - label_band - value_band
    slot = width / len(columns)
    bar = slot * 0.7
    top = max(value for _, value in columns) or 1
    every = max(1, -(-len(columns) // 12))
    body = [format_html('<line x1="0" y1="{}" x2="{}" y2="{}" stroke="#8a939c" stroke-width="0.6"/>',
                        _n(value_band + plot), _n(width), _n(value_band + plot))]
    for index, (label, value) in enumerate(columns):
        x = index * slot + (slot - bar) / 2
        size = plot * value / top
        centre = index * slot + slot / 2
        body.append(format_html('<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
                                _n(x), _n(value_band + plot - size), _n(bar), _n(size), colour))
        if value:
            body.append(format_html('<text x="{}" y="{}" text-anchor="middle">{}</text>',
                                    _n(centre), _n(value_band + plot - size - 3),
                                    format_number(value, 0 if value.is_integer() else 1)))
        if index % every == 0:
            first, _, second = _truncate(label, max_label_chars * 2).partition(" ")
            body.append(format_html(
                '<text x="{}" y="{}" text-anchor="middle" font-size="9">{}</text>'
                '<text x="{}" y="{}" text-anchor="middle" font-size="9">{}</text>',
                _n(centre), _n(value_band + plot + 11), _truncate(first, max_label_chars),
                _n(centre), _n(value_band + plot + 21), _truncate(second, max_label_chars),
            ))
    return _svg(width, height, title, body)


def share_bar(
    part: float,
    whole: float,
    *,
    title: str,
    width: float = 480,
    colour: str = BAR_COLOUR,
    rest_colour: str = LATE_COLOUR,
    empty_message: str = "Aucune donnée sur la période.",
) -> SafeString:
    """One bar split into ``part`` and the rest of ``whole``, with "87 % (26 / 30)" written beside it."""
    if not whole:
        return _empty(title, width, empty_message)
    share = max(0.0, min(1.0, part / whole))
    text_width = 120
    track = width - text_width
    filled = track * share
    body = [
        format_html('<rect x="0" y="2" width="{}" height="16" fill="{}"/>', _n(track), rest_colour),
        format_html('<rect x="0" y="2" width="{}" height="16" fill="{}"/>', _n(filled), colour),
        format_html('<text x="{}" y="14">{} % ({} / {})</text>', _n(track + 6),
                    format_number(100 * share, 0 if (100 * share).is_integer() else 1),
                    format_number(part), format_number(whole)),
    ]
    return _svg(width, 20, title, body)
