"""Server-side SVG charts: well-formed, every value written as text, labels escaped."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from reclamations import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own markup, parsed to prove it is well-formed


def _texts(svg: str) -> list[str]:
    root = _parse(svg)
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def test_a_bar_chart_writes_each_label_and_value_as_text():
    svg = charts.bar_chart([("Courriel", 12), ("Téléphone", 3), ("Autre", 0)], title="Par canal")

    root = _parse(svg)
    assert root.get("role") == "img" and root.get("aria-label") == "Par canal"
    assert root.find(f"{SVG}title").text == "Par canal"
    assert _texts(svg) == ["Courriel", "12", "Téléphone", "3", "Autre", "0"]


def test_bars_are_proportional_to_the_values():
    svg = charts.bar_chart([("A", 10), ("B", 5)], title="t", width=400, label_width=100)

    widths = [float(rect.get("width")) for rect in _parse(svg).iter(f"{SVG}rect")]
    assert widths[0] == 2 * widths[1]


def test_labels_are_escaped_and_long_ones_shortened():
    hostile = '<img src="file:///etc/passwd"> & </svg><script>alert(1)</script>'
    svg = charts.bar_chart([(hostile, 1), ("x" * 80, 2)], title='Titre "<b>"', max_label_chars=30)

    assert "<script>" not in svg and "<img" not in svg
    texts = _texts(svg)  # parses: the markup is still well-formed
    assert texts[0] == '<img src="file:///etc/passwd"…'  # the text itself, shortened, never an element
    assert texts[2] == "x" * 29 + "…"
    assert _parse(svg).get("aria-label") == 'Titre "<b>"'


def test_an_empty_chart_says_so():
    assert _texts(charts.bar_chart([], title="t")) == ["Aucune donnée sur la période."]
    assert _texts(charts.column_chart([], title="t", empty_message="Rien.")) == ["Rien."]
    assert _texts(charts.share_bar(0, 0, title="t")) == ["Aucune donnée sur la période."]


def test_a_column_chart_writes_values_over_non_empty_columns_and_thins_its_labels():
    months = [(f"m{n} 26", n % 3) for n in range(24)]
    svg = charts.column_chart(months, title="Par mois")

    texts = _texts(svg)
    assert texts.count("m0") == 1 and "m1" not in texts  # 24 columns: one label in two
    values = [t for t in texts if t.isdigit() and t != "26"]
    assert values == [str(n % 3) for n in range(24) if n % 3]


def test_a_share_bar_writes_the_percentage_and_the_counts_in_french():
    svg = charts.share_bar(26, 30, title="Dans le délai")

    assert _texts(svg) == ["86,7 % (26 / 30)"]
    assert _texts(charts.share_bar(1234, 1234, title="t")) == ["100 % (1\u202f234 / 1\u202f234)"]
