"""``{% timeline_items timeline %}``: the ``<li>`` of a record's history (``backoffice/_timeline.html``).

Written in Python rather than as a template loop: a long case has a hundred entries and more, and
the template engine's per-entry cost (lookups, filters, ``{% if %}``) was a fifth of the record
page's time. Each entry is one f-string whose every value goes through ``markup.esc``; the whole
list is marked safe once, here, where it is built.
"""
from __future__ import annotations

from django import template
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from post_office.models import STATUS

from ..markup import esc, lines
from ..models import Attachment, Communication, CommunicationKind
from ..selectors import CommunicationLine, Conversation, TimelineEntry

register = template.Library()

PUBLIC_BADGE = '<span class="badge bo-badge-public">Visible par le client</span>'
INTERNAL_BADGE = '<span class="badge bo-badge-internal">Interne</span>'
EMPTY = '<li class="bo-entry">Aucun événement.</li>'
# Anything else is still waiting.
EMAIL_STATUS = {STATUS.sent: "envoyé", STATUS.failed: '<span class="text-danger">échec de l\'envoi</span>'}
EMAIL_WAITING = "en attente d'envoi"


# The choices' labels, read once (``get_FOO_display`` looks each one up through the field).
_KIND = {k: str(v) for k, v in Communication._meta.get_field("kind").flatchoices}
_DIRECTION = {k: str(v).lower() for k, v in Communication._meta.get_field("direction").flatchoices}
_PURPOSE = {k: str(v).lower() for k, v in Communication._meta.get_field("purpose").flatchoices}


def _communication(c: CommunicationLine) -> str:
    heading = [_KIND.get(c.kind, c.kind), _DIRECTION.get(c.direction, c.direction)]
    if c.purpose != "general":
        heading.append(_PURPOSE.get(c.purpose, c.purpose))
    if c.duration_minutes:
        heading.append(f"{c.duration_minutes} min")
    parts = [f'<p class="mb-1 fw-semibold">{esc(" · ".join(str(h) for h in heading))}</p>']
    if c.subject:
        parts.append(f'<p class="mb-1">{esc(c.subject)}</p>')
    parts.append(f'<div class="bo-entry-body">{lines(c.body)}</div>')
    if c.email_id:
        status = EMAIL_STATUS.get(c.email_status, EMAIL_WAITING)
        parts.append(f'<p class="small mb-0 mt-1 text-body-secondary">Courriel : {status}</p>')
    return "\n".join(parts)


def _attachment(a: Attachment) -> str:
    name = esc(a.original_name)
    if a.file:
        name = f'<a href="{esc(reverse("backoffice:attachment", args=[a.pk]))}">{name}</a>'
    size = esc(filesizeformat(a.size))
    return f'<p class="mb-0">Pièce jointe : {name} <span class="small text-body-secondary">({size})</span></p>'


def _entry(entry: TimelineEntry) -> str:
    if entry.kind == "event":
        body = f'<p class="mb-0">{esc(entry.obj.summary)}</p>'
    elif entry.kind == "communication":
        body = _communication(entry.obj)
    else:
        body = _attachment(entry.obj)
    return (
        f'<li class="bo-entry {"bo-entry-public" if entry.public else "bo-entry-internal"}">\n'
        '<div class="d-flex flex-wrap justify-content-between gap-1 small">\n'
        f'<span>{PUBLIC_BADGE if entry.public else INTERNAL_BADGE} '
        f'<span class="text-body-secondary">{esc(entry.author or "Système")}</span></span>\n'
        f'<time datetime="{esc(entry.at_iso)}" class="text-body-secondary">{esc(entry.at_shown)}</time>\n'
        f"</div>\n{body}\n</li>"
    )


@register.simple_tag
def timeline_items(timeline: list[TimelineEntry]) -> SafeString:
    # Safe: every value above went through markup.esc; the rest is this module's own markup.
    return mark_safe("\n".join(_entry(entry) for entry in timeline) if timeline else EMPTY)  # noqa: S308


# --- The conversation (``backoffice/_timeline.html``, first tab) ------------------------------------
NOTE_BADGE = '<span class="badge bo-badge-note">Note interne</span>'
EMPTY_CONVERSATION = '<li class="bo-entry">Aucun échange pour l\'instant.</li>'


def _files(files: list[Attachment]) -> str:
    if not files:
        return ""
    items = "".join(
        f'<li><a href="{esc(reverse("backoffice:attachment", args=[a.pk]))}">{esc(a.original_name)}</a> '
        f'<span class="small text-body-secondary">({esc(filesizeformat(a.size))})</span></li>'
        for a in files
    )
    return f'<ul class="bo-entry-files small mb-0 mt-1" aria-label="Pièces jointes">{items}</ul>'


def _exchange(entry: TimelineEntry, files_of: dict[int, list[Attachment]]) -> str:
    if entry.kind == "attachment":
        css, badge, body = ("bo-entry-public" if entry.public else "bo-entry-internal",
                            PUBLIC_BADGE if entry.public else INTERNAL_BADGE, _attachment(entry.obj))
    else:
        c: CommunicationLine = entry.obj
        body = _communication(c) + _files(files_of.get(c.pk, []))
        if c.kind == CommunicationKind.NOTE or c.direction == Communication.Direction.INTERNAL:
            # Never sent, never shown to the client: it must not be mistaken for a message.
            css, badge = "bo-entry-note", NOTE_BADGE
        elif c.direction == Communication.Direction.INBOUND:
            css, badge = "bo-entry-inbound", PUBLIC_BADGE if c.public else INTERNAL_BADGE
        else:
            css, badge = "bo-entry-outbound", PUBLIC_BADGE if c.public else INTERNAL_BADGE
    return (
        f'<li class="bo-entry {css}">\n'
        '<div class="d-flex flex-wrap justify-content-between gap-1 small">\n'
        f'<span>{badge} <span class="text-body-secondary">{esc(entry.author or "Système")}</span></span>\n'
        f'<time datetime="{esc(entry.at_iso)}" class="text-body-secondary">{esc(entry.at_shown)}</time>\n'
        f"</div>\n{body}\n</li>"
    )


@register.simple_tag
def conversation_items(conversation: Conversation) -> SafeString:
    # Safe: every value went through markup.esc; the rest is this module's own markup.
    html = "\n".join(_exchange(e, conversation.files_of) for e in conversation.entries) or EMPTY_CONVERSATION
    return mark_safe(html)  # noqa: S308
