"""Search over everything written on a record: folding, the search document, the list's excerpts.

The staff list's search (``filters.ReclamationFilter.search``) reads one text per record,
``SearchDocument.folded``: the record's searched fields, its exchanges and its action plan, each
*folded* (accents and case removed, whitespace collapsed) and one per line. The query is folded the
same way and matched with ``LIKE '%…%'``, which behaves the same on SQLite and PostgreSQL (where a
trigram index answers it, migration 0016) — unlike ``icontains``, which folds case only, and only
for ASCII on SQLite, and never accents.

The document also keeps the original texts (``parts``) so that the list can show where a word was
found, with its accents and capitals, without reading the exchanges of the page's records.

Pure functions on plain values: the services (``services.search``), the data migration (historical
models) and the benchmark's bulk loader all build documents with them.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from .markup import esc

# (field, label): what a record holds that a person wrote or typed. Not the choices (kind,
# channel...: filters), nor the survey's comment or the discard reason (not asked for).
RECORD_FIELDS: tuple[tuple[str, str], ...] = (
    ("reference", "Référence"),
    ("complainant_name", "Réclamant"),
    ("complainant_organisation", "Organisation"),
    ("complainant_email", "Courriel"),
    ("subject", "Objet"),
    ("description", "Description"),
    ("wished_solution", "Solution souhaitée"),
    ("reformulation", "Reformulation"),
    ("answer", "Réponse argumentée"),
    ("conclusion", "Conclusion"),
    ("root_cause_analysis", "Analyse de la cause racine"),
)
SEARCHED_FIELDS = frozenset(name for name, _label in RECORD_FIELDS)
COMMUNICATION_LABEL = "Échange"
ACTION_LABEL = "Action"
ACTION_RESULT_LABEL = "Résultat de l'action"

# The combining diacritical marks that NFKD splits off Latin, Greek and Cyrillic letters. A
# character class rather than ``unicodedata.combining`` per character: a regular expression runs in
# C, and the benchmark's 100,000 records (or a migration) fold hundreds of megabytes.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def fold(text: str) -> str:
    """``"Éligibilité  CPF"`` → ``"eligibilite cpf"``: compatibility decomposition (``œ`` stays,
    ``…`` becomes ``...``), marks dropped, case folded (``ß`` → ``ss``), whitespace collapsed."""
    if text.isascii():
        return " ".join(text.lower().split())
    return " ".join(_MARKS.sub("", unicodedata.normalize("NFKD", text)).casefold().split())


def query_words(query: str) -> list[str]:
    """The folded words of what was typed; a record matches when it holds every one of them."""
    return list(dict.fromkeys(fold(query).split()))


def is_searched_communication(direction: str, author_id: int | None) -> bool:
    """An exchange is searched unless the application wrote it alone from a template (acknowledgement,
    survey invitation, closure notice): the same words on every record would make every record match,
    and what they hold of the record (reference, subject, name) is searched already."""
    return not (direction == "outbound" and author_id is None)


def document_parts(
    record: Mapping[str, object],
    communications: Iterable[tuple[str, str]] = (),
    actions: Iterable[tuple[str, str]] = (),
) -> list[list[str]]:
    """The labelled texts of one record: its fields (``RECORD_FIELDS``, by name), its exchanges
    ``(subject, body)`` and its actions ``(description, result)``, in that order; empty ones left out."""
    parts: list[list[str]] = []
    for name, label in RECORD_FIELDS:
        value = record.get(name)
        if value:
            parts.append([label, str(value)])
    for subject, body in communications:
        text = " — ".join(t for t in (subject, body) if t)
        if text:
            parts.append([COMMUNICATION_LABEL, text])
    for description, result in actions:
        if description:
            parts.append([ACTION_LABEL, description])
        if result:
            parts.append([ACTION_RESULT_LABEL, result])
    return parts


def folded_text(parts: Sequence[Sequence[str]]) -> str:
    """What the search reads: one folded line per part, so that no match straddles two texts."""
    return "\n".join(fold(text) for _label, text in parts)


# --- Excerpts ------------------------------------------------------------------------------------
CONTEXT_CHARS = 60  # on each side of the first match: a dozen words, one line of the list's cell


def _folded_with_positions(text: str) -> tuple[str, list[int]]:
    """``text`` folded character by character, with, for each folded character, the index of the
    original one it comes from (folding may drop a character, a mark, or give two: ``ß``)."""
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = char.lower() if char.isascii() else _MARKS.sub("", unicodedata.normalize("NFKD", char)).casefold()
        out.append(folded)
        origin.extend([index] * len(folded))
    return "".join(out), origin


def _find(folded: str, origin: Sequence[int], words: Sequence[str]) -> list[tuple[int, int, str]]:
    found = []
    for word in words:
        start = folded.find(word)
        while start != -1:
            found.append((origin[start], origin[start + len(word) - 1] + 1, word))
            start = folded.find(word, start + len(word))
    return found


def _spans(text: str, words: Sequence[str]) -> list[tuple[int, int]]:
    """Where the words are in ``text`` (whitespace already collapsed), as original positions."""
    folded = fold(text)
    # Most texts fold character for character (é → e): positions are then the same, and each span
    # found that way is checked. The exact mapping, a loop in Python, is built only when that fails
    # (… → ..., ß → ss, a mark typed apart).
    if len(folded) == len(text):
        found = _find(folded, range(len(text)), words)
        if all(fold(text[start:end]) == word for start, end, word in found):
            return sorted((start, end) for start, end, _word in found)
    folded, origin = _folded_with_positions(text)
    return sorted((start, end) for start, end, _word in _find(folded, origin, words))


def excerpt_html(parts: Sequence[Sequence[str]], words: Sequence[str]) -> str:
    """Escaped HTML: the label of the first text holding the most words, and a few words around
    the first match, every match in them marked. ``""`` when no text holds any (a document older
    than the record's last change, or the words fold differently piecewise: nothing to show)."""
    if not words:
        return ""
    best: tuple[int, str, str] | None = None
    for label, text in parts:
        folded = fold(text)
        found = sum(1 for word in words if word in folded)
        if found and (best is None or found > best[0]):
            best = (found, label, text)
            if found == len(words):
                break
    if best is None:
        return ""
    _found, label, text = best
    text = " ".join(text.split())
    spans = _spans(text, words)
    if not spans:
        return ""
    first_start, first_end = spans[0]
    start = max(0, first_start - CONTEXT_CHARS)
    end = min(len(text), first_end + CONTEXT_CHARS)
    # Whole words only: cut at the nearest space inside the window.
    if start > 0:
        space = text.find(" ", start, first_start)
        start = space + 1 if space != -1 else start
    if end < len(text):
        space = text.rfind(" ", first_end, end)
        end = space if space != -1 else end
    pieces = ["…" if start > 0 else ""]
    at = start
    for span_start, span_end in spans:
        if span_start < at or span_end > end:
            continue  # overlaps one already marked, or outside the window
        pieces.append(esc(text[at:span_start]))
        pieces.append(f"<mark>{esc(text[span_start:span_end])}</mark>")
        at = span_end
    pieces.append(esc(text[at:end]))
    if end < len(text):
        pieces.append("…")
    return f'<span class="fw-semibold">{esc(label)} :</span> {"".join(pieces)}'
