"""Plain-text helpers shared by what staff, clients and auditors read."""
from __future__ import annotations


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters at a word boundary with "…" when longer.

    A cut inside a word ("Ajouter une clause au contr…") reads as a typing error in an audit document.
    """
    line = " ".join(str(text).split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if line[limit - 1] != " " and cut.rfind(" ") > limit // 2:
        cut = cut[: cut.rindex(" ")]
    # else one very long word (a URL, a code): cutting inside it beats dropping most of the text
    return cut.rstrip(" ,;:—-") + "…"


def plural(count: float, suffix: str = "s") -> str:
    """The French plural mark: none for 0 and 1 ("0 réponse", "1 réponse", "2 réponses").

    Django's ``pluralize`` follows English and writes "0 réponses".
    """
    return suffix if abs(count) >= 2 else ""
