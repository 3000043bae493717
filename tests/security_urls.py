"""What the security tests share: every URL pattern of the project, read from the URL conf, and a
small world of objects to fill their arguments.

The patterns are walked from ``django.urls.get_resolver()`` (Django's admin and static files
excepted), so a view added later is found by the tests at once: a pattern missing from ``ARGS``
(how to build its URL) or from the expectations of a test fails that test with the name to add.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from post_office.models import Email

from reclamations import services
from reclamations.exports import Produced
from reclamations.models import Action, ActionKind, DigestReceipt, Reclamation
from reclamations.services import digest as digests
from reclamations.services import survey
from reclamations.uploads import check_uploads
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, UserFactory, advance, inbound_email, upload

SKIPPED_PREFIXES = ("admin/", "static/", "media/")
_TOKEN = re.compile(r"<(?:\w+:)?token>")


@dataclass(frozen=True)
class Pattern:
    name: str | None  # "namespace:name", None for an unnamed pattern (which cannot be reversed)
    route: str

    @property
    def has_token(self) -> bool:
        return bool(_TOKEN.search(self.route))


def _walk(resolver: URLResolver, namespace: str, prefix: str) -> Iterator[Pattern]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith(SKIPPED_PREFIXES):
                continue
            inner = ":".join(part for part in (namespace, entry.namespace or "") if part)
            yield from _walk(entry, inner, route)
        elif isinstance(entry, URLPattern):
            if route.startswith(SKIPPED_PREFIXES):
                continue
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield Pattern(name, route)


def project_patterns() -> list[Pattern]:
    """Every URL pattern of the project but Django's admin and static files, in URL-conf order."""
    return list(_walk(get_resolver(), "", ""))


# --- The objects the URLs point at ---------------------------------------------------------------
def _read_token(address: str) -> str:
    """The digest-read token in the queued e-mail to ``address`` (it exists nowhere else in clear)."""
    link = re.compile(r"/bilans/lu/([A-Za-z0-9_-]+)/")
    for email in Email.objects.order_by("-pk"):
        if address in email.to and (found := link.search(email.message)):
            return found.group(1)
    raise AssertionError(f"no digest e-mail to {address}")


def build_world() -> SimpleNamespace:
    """Users of each kind, and one object of each kind a URL can name.

    ``record`` is assigned to ``handler`` and has a public attachment and actions; ``other`` is
    another client's record (its token is the "other record's token"); ``surveyed`` waits for its
    survey answer. Tokens are kept in clear, as the client holds them.
    """
    handler = UserFactory(role="handler", username="gestionnaire", first_name="Camille", last_name="Martin")
    quality_lead = UserFactory(role="quality_lead", username="qualite", first_name="Dominique",
                               last_name="Bernard")
    user = UserFactory(username="client", is_staff=False)
    user.save()

    created = ReclamationFactory()
    token = created.token
    record = advance(created, Step.SCHEDULING, handler)  # step 5: assigned, with actions
    services.reclamation_add_attachments(reclamation=record, actor=None, uploads=check_uploads([upload()]),
                                         public=True)
    other = ReclamationFactory(complainant_name="Bruno Autre", complainant_email="bruno@example.org",
                               subject="Une tout autre demande")
    surveyed = advance(ReclamationFactory(complainant_email="sondage@example.org"), Step.FEEDBACK, handler)
    improvement = services.improvement_create(actor=quality_lead, origin="survey", title="Réponses plus claires",
                                              description="Un modèle de réponse argumentée.")
    sent = services.digest_send(period=digests.previous_month())
    period = digests.previous_month()
    requested = services.export_request(actor=quality_lead, kind="register_csv", start=period.start, end=period.end)
    export_job = services.export_claim(job_id=requested.pk)
    services.export_finish(job=export_job, produced=Produced(content=b"reference;objet\r\n", filename="registre.csv",
                                                             content_type="text/csv", records=0))
    # A received e-mail kept aside (an out-of-office reply), for the "Courriels à trier" pages.
    inbound = services.inbound_message_receive(
        raw=inbound_email(subject="Absent", headers={"Auto-Submitted": "auto-replied"}), source="pipe").message
    return SimpleNamespace(
        handler=handler,
        inbound=inbound,
        quality_lead=quality_lead,
        user=user,
        record=Reclamation.objects.get(pk=record.pk),
        token=token,
        other=other,
        other_token=other.token,
        attachment=record.attachments.get(),
        action=Action.objects.filter(reclamation=record, kind=ActionKind.CORRECTIVE).first(),
        surveyed=surveyed,
        survey_token=survey.current_token(surveyed),
        improvement=improvement,
        digest=sent.digest,
        receipt=DigestReceipt.objects.get(digest=sent.digest, user=handler),
        read_token=_read_token(handler.email),
        email=Email.objects.order_by("pk").first(),
        export_job=export_job,
    )


# --- How to build each URL -----------------------------------------------------------------------
Args = Callable[[SimpleNamespace], list[Any]]
_record: Args = lambda w: [w.record.pk]  # noqa: E731

ARGS: dict[str, Args] = {
    "public:home": lambda w: [],
    "public:contact": lambda w: [],
    "public:contact_done": lambda w: [],
    "public:privacy": lambda w: [],
    "public:lost_link": lambda w: [],
    "public:follow_up": lambda w: [w.token],
    "public:follow_up_attachment": lambda w: [w.token, w.attachment.pk],
    "survey:answer": lambda w: [w.survey_token],
    "backoffice:login": lambda w: [],
    "backoffice:login_code": lambda w: [],
    "backoffice:logout": lambda w: [],
    "backoffice:password_change": lambda w: [],
    "backoffice:password_change_done": lambda w: [],
    "backoffice:account_security": lambda w: [],
    "backoffice:two_factor_enrol": lambda w: [],
    "backoffice:two_factor_backup_codes": lambda w: [],
    "backoffice:two_factor_disable": lambda w: [],
    "backoffice:dashboard": lambda w: [],
    "backoffice:list": lambda w: [],
    "backoffice:create": lambda w: [],
    "backoffice:bulk_action": lambda w: [],
    "backoffice:selection_export": lambda w: [],
    "backoffice:saved_view_save": lambda w: [],
    # Nobody's view: deleting it says it no longer exists (each person deletes only their own).
    "backoffice:saved_view_delete": lambda w: [999999],
    "backoffice:detail": _record,
    "backoffice:next": _record,
    "backoffice:previous": _record,
    "backoffice:attachment": lambda w: [w.attachment.pk],
    "backoffice:complete_step": _record,
    "backoffice:acknowledgement": _record,
    "backoffice:not_applicable": _record,
    "backoffice:assign": _record,
    "backoffice:self_assign": _record,
    "backoffice:identification": _record,
    "backoffice:reformulation": _record,
    "backoffice:communication": _record,
    "backoffice:evaluation": _record,
    "backoffice:action_add": _record,
    "backoffice:action_update": lambda w: [w.record.pk, w.action.pk],
    "backoffice:answer": _record,
    "backoffice:conclusion": _record,
    "backoffice:feedback": _record,
    "backoffice:message": _record,
    "backoffice:discard": _record,
    "backoffice:reopen": _record,
    "backoffice:received_at": _record,
    "backoffice:attachment_add": _record,
    "backoffice:conversation_order": _record,
    "backoffice:inbound_list": lambda w: [],
    "backoffice:inbound_detail": lambda w: [w.inbound.pk],
    "backoffice:inbound_convert": lambda w: [w.inbound.pk],
    "backoffice:inbound_discard": lambda w: [w.inbound.pk],
    "backoffice:inbound_raw": lambda w: [w.inbound.pk],
    "outbox:list": lambda w: [],
    "outbox:resend": lambda w: [w.email.pk],
    "quality:index": lambda w: [],
    "quality:plan": lambda w: [],
    "quality:improvement_create": lambda w: [],
    "quality:improvement_detail": lambda w: [w.improvement.pk],
    "quality:improvement_edit": lambda w: [w.improvement.pk],
    "quality:improvement_check": lambda w: [w.improvement.pk],
    "quality:promote_action": lambda w: [w.action.pk],
    "quality:statistics": lambda w: [],
    "quality:digests": lambda w: [],
    "quality:digest_send": lambda w: [],
    "quality:digest_read": lambda w: [w.read_token],
    "quality:digest_read_pending": lambda w: [],
    "quality:digest_detail": lambda w: [w.digest.pk],
    "quality:digest_acknowledge": lambda w: [w.digest.pk],
    "quality:personal_data": lambda w: [],
    "quality:personal_data_search": lambda w: [],
    "quality:personal_data_export": lambda w: [],
    "quality:personal_data_erase": lambda w: [],
    "quality:orphan_files": lambda w: [],
    "quality:orphan_files_delete": lambda w: [],
    "evidence:index": lambda w: [],
    "evidence:pack_pdf": lambda w: [],
    "evidence:register_xlsx": lambda w: [],
    "evidence:register_csv": lambda w: [],
    "evidence:job": lambda w: [w.export_job.pk],
    "evidence:job_download": lambda w: [w.export_job.pk],
    "evidence:record_pdf": _record,
    "healthz": lambda w: [],
}

# For a URL holding a token: the same URL as the holder of ANOTHER record's token would try it.
OTHER_TOKEN_ARGS: dict[str, Args] = {
    # Another record's page is that client's own: what must fail is a token nobody was given.
    "public:follow_up": lambda w: [w.other_token[::-1]],
    # Their own valid token, with this record's attachment.
    "public:follow_up_attachment": lambda w: [w.other_token, w.attachment.pk],
    # A follow-up token is not a survey token.
    "survey:answer": lambda w: [w.other_token],
    "quality:digest_read": lambda w: [w.other_token],
}


def missing_args(pattern: Pattern) -> str:
    return (f"URL pattern {pattern.name or pattern.route!r} has no entry in tests/security_urls.py ARGS: add how "
            "to build its URL (and its expected outcomes in the security tests), so that it is checked.")


def url_for(pattern: Pattern, world: SimpleNamespace, *, other_token: bool = False) -> str:
    assert pattern.name, f"URL pattern {pattern.route!r} has no name: give it one so that it can be checked."
    table = OTHER_TOKEN_ARGS if other_token else ARGS
    assert pattern.name in table, missing_args(pattern)
    return reverse(pattern.name, args=table[pattern.name](world))


def client_as(world: SimpleNamespace, role: str, **kwargs: Any) -> Client:
    """A fresh client for ``role``: anonymous, other_token (anonymous too), user, handler, quality_lead."""
    client = Client(**kwargs)
    if role in ("user", "handler", "quality_lead"):
        client.force_login(getattr(world, role))
    return client
