"""``{% list_rows page.object_list excerpts %}``: the ``<tr>`` of the staff list (``backoffice/list.html``).

Built in Python (see ``reclamations.markup``): 25 rows of eight cells were two thirds of the
list's rendering time through the template engine. The SLA badges are ``sla_tags.sla_badge``.
"""
from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from .. import workflow
from ..markup import esc, local
from ..models import Reclamation
from .sla_tags import next_deadline_badge

register = template.Library()

# Also ``{% priority_badge reclamation %}``, which ``backoffice/_priority.html`` is.
PRIORITY_BADGES = {
    "critical": '<span class="badge text-bg-danger bo-priority">● Critique</span>',
    "high": '<span class="badge text-bg-warning bo-priority">● Haute</span>',
    "normal": '<span class="badge text-bg-primary bo-priority">● Normale</span>',
    "low": '<span class="badge text-bg-secondary bo-priority">● Basse</span>',
}
NOT_ASSESSED = '<span class="text-body-secondary small">Non évaluée</span>'
ANONYMISED = ' <span class="badge text-bg-dark">anonymisée</span>'
UNREAD = ' <span class="badge text-bg-info bo-unread" title="Du nouveau depuis votre dernière lecture">Non lu</span>'


def _priority(r: Reclamation) -> str:
    return PRIORITY_BADGES.get(r.priority, NOT_ASSESSED)


def _handler(r: Reclamation) -> str:
    if r.handler is None:
        return '<span class="text-body-secondary">Non attribuée</span>'
    return esc(r.handler.get_full_name() or r.handler.get_username())


# The choices' labels, read once (``get_FOO_display`` costs a lookup through the field each time).
_KIND = dict(Reclamation._meta.get_field("kind").flatchoices)
_CHANNEL = dict(Reclamation._meta.get_field("channel").flatchoices)


def _row(context: template.Context, r: Reclamation, excerpt: str = "", selected: bool = False) -> str:
    url = esc(reverse("backoffice:detail", args=[r.pk]))
    reference = esc(r.reference)
    anonymised = r.anonymised_at is not None
    who = "Données personnelles effacées" if anonymised else (r.complainant_name or "Sans réclamant")
    service = esc(r.service) if r.service_id else ""
    count = workflow.step_count()
    state = esc(workflow.step_label(r.state))  # the step table's label (the field has no choices)
    step = f'<span class="badge text-bg-light border">{r.step_number}/{count}</span> ' if r.is_open else ""
    due = str(next_deadline_badge(context, r)) if r.is_open or r.answered_at else "—"
    # Escaped already, piece by piece, with its <mark>s (search.excerpt_html).
    found = f'<small class="bo-excerpt">{excerpt}</small>' if excerpt else ""
    unread = getattr(r, "unread", False)
    subject = esc(r.subject)
    kind = f"{esc(_KIND.get(r.kind, r.kind))} · {esc(_CHANNEL.get(r.channel, r.channel))}"
    # One line a record: long texts are cut by the stylesheet, whole in the tooltip; the
    # checkbox belongs to the bulk form above the table (form="bulk").
    return (
        "<tr>\n"
        f'<td class="bo-cell-select"><input class="form-check-input bo-select" type="checkbox" form="bulk" '
        f'name="bulk-ids" value="{r.pk}"{" checked" if selected else ""} aria-label="Sélectionner {reference}"></td>\n'
        f'<td data-label="Référence" class="bo-cell-ref" title="{kind}"><a href="{url}" class="fw-semibold">'
        f'{reference}</a>{UNREAD if unread else ""}</td>\n'
        f'<td data-label="Reçue le" title="{esc(local(r.received_at))}">'
        f"{timezone.localtime(r.received_at):%d/%m/%y}</td>\n"
        f'<td data-label="Objet" class="bo-cell-subject{" bo-unread-subject" if unread else ""}">'
        f'<div class="bo-cut" title="{subject}">{subject}'
        f'{ANONYMISED if anonymised else ""}</div>{found}</td>\n'
        f'<td data-label="Réclamant" class="bo-cell-who"><div class="bo-cut" title="{esc(who)}'
        f'{" · " + service if service else ""}">{esc(who)}</div></td>\n'
        f'<td data-label="Étape" class="bo-cell-step"><div class="bo-cut" title="{state}">{step}{state}</div></td>\n'
        f'<td data-label="Priorité">{_priority(r)}</td>\n'
        f'<td data-label="Responsable" class="bo-cell-handler"><div class="bo-cut">{_handler(r)}</div></td>\n'
        f'<td data-label="Échéance" class="bo-cell-due">{due}</td>\n'
        "</tr>"
    )


@register.simple_tag
def priority_badge(reclamation: Reclamation) -> SafeString:
    return mark_safe(_priority(reclamation))  # noqa: S308 - one of this module's constants


@register.simple_tag(takes_context=True)
def list_rows(context: template.Context, reclamations: Iterable[Reclamation],
              excerpts: dict[int, str] | None = None, selected: Iterable[int] = ()) -> SafeString:
    # Safe: every value went through markup.esc, the badges are format_html's, the search's
    # excerpts are built of markup.esc'd pieces and <mark>s (search.excerpt_html); the rest is ours.
    excerpts = excerpts or {}
    ticked = set(selected)
    return mark_safe("\n".join(_row(context, r, excerpts.get(r.pk, ""), r.pk in ticked)  # noqa: S308
                                for r in reclamations))
