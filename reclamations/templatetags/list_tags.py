"""``{% list_rows page.object_list excerpts %}``: the ``<tr>`` of the staff list (``backoffice/list.html``).

Built in Python (see ``reclamations.markup``): 25 rows of eight cells were two thirds of the
list's rendering time through the template engine. The SLA badges are ``sla_tags.sla_badge``.
"""
from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from .. import workflow
from ..markup import esc, local
from ..models import Reclamation
from .sla_tags import sla_badge

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
_STATE = dict(Reclamation._meta.get_field("state").flatchoices)


def _row(context: template.Context, r: Reclamation, excerpt: str = "") -> str:
    url = esc(reverse("backoffice:detail", args=[r.pk]))
    anonymised = r.anonymised_at is not None
    who = "Données personnelles effacées" if anonymised else (r.complainant_name or "Sans réclamant")
    service = f" · {esc(r.service)}" if r.service_id else ""
    count = workflow.step_count()
    step = f'<span class="badge text-bg-light border">{r.step_number}/{count}</span> ' if r.is_open else ""
    ack = str(sla_badge(context, r, "ack")) if r.is_open or r.acknowledged_at else "—"
    answer = str(sla_badge(context, r, "answer")) if r.is_open or r.answered_at else "—"
    # Escaped already, piece by piece, with its <mark>s (search.excerpt_html).
    found = f'<br><small class="bo-excerpt">{excerpt}</small>' if excerpt else ""
    return (
        "<tr>\n"
        f'<td data-label="Référence"><div><a href="{url}" class="fw-semibold">{esc(r.reference)}</a>'
        f'{UNREAD if getattr(r, "unread", False) else ""}<br>'
        f'<small class="text-body-secondary">{esc(_KIND.get(r.kind, r.kind))} · '
        f'{esc(_CHANNEL.get(r.channel, r.channel))}</small>'
        "</div></td>\n"
        f'<td data-label="Reçue le"><div>{esc(local(r.received_at))}</div></td>\n'
        f'<td data-label="Objet"><div>{esc(Truncator(r.subject).chars(80))}'
        f'{ANONYMISED if anonymised else ""}<br>'
        f'<small class="text-body-secondary">{esc(who)}{service}</small>'
        f'{found}</div></td>\n'
        f'<td data-label="Étape"><div>{step}{esc(_STATE.get(r.state, r.state))}</div></td>\n'
        f'<td data-label="Priorité"><div>{_priority(r)}</div></td>\n'
        f'<td data-label="Responsable"><div>{_handler(r)}</div></td>\n'
        f'<td data-label="Accusé de réception"><div>{ack}</div></td>\n'
        f'<td data-label="Réponse"><div>{answer}</div></td>\n'
        "</tr>"
    )


@register.simple_tag
def priority_badge(reclamation: Reclamation) -> SafeString:
    return mark_safe(_priority(reclamation))  # noqa: S308 - one of this module's constants


@register.simple_tag(takes_context=True)
def list_rows(context: template.Context, reclamations: Iterable[Reclamation],
              excerpts: dict[int, str] | None = None) -> SafeString:
    # Safe: every value went through markup.esc, the badges are format_html's, the search's
    # excerpts are built of markup.esc'd pieces and <mark>s (search.excerpt_html); the rest is ours.
    excerpts = excerpts or {}
    return mark_safe("\n".join(_row(context, r, excerpts.get(r.pk, "")) for r in reclamations))  # noqa: S308
