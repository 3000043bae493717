"""factory_boy factories. Records are created through ``services.reclamation_create`` so that each
one has its reference, token, deadlines and creation event, exactly as in production."""
from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from reclamations import roles, services
from reclamations.models import (
    ActionKind,
    ActionStatus,
    Communication,
    Reclamation,
    RootCauseCategory,
    Service,
)
from reclamations.workflow import Step


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")
    first_name = "Agent"
    last_name = factory.Sequence(lambda n: f"N{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "mot-de-passe-solide-42")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        if not create or not extracted:
            return
        handlers, quality_leads = roles.ensure_groups()
        self.groups.add(quality_leads if extracted == "quality_lead" else handlers)
        self.save()


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Service {n}")


class RootCauseCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RootCauseCategory
        django_get_or_create = ("name",)

    name = "Organisation / logistique"


class ReclamationFactory(factory.Factory):
    """``ReclamationFactory()`` gives a web-form complaint in step 1; ``.token`` holds its link token."""

    class Meta:
        model = Reclamation

    kind = "complaint"
    channel = "web_form"
    stakeholder_type = "learner"
    subject = "Convocation reçue la veille de la formation"
    description = "La convocation est arrivée trop tard pour organiser mon déplacement."
    wished_solution = "Un report de ma session sans frais."
    complainant_name = "Claire Dupont"
    complainant_email = "claire.dupont@example.org"
    complainant_phone = "06 12 34 56 78"
    service = factory.SubFactory(ServiceFactory)
    actor = None

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> Reclamation:
        actor = kwargs.pop("actor")
        created = services.reclamation_create(actor=actor, **kwargs)
        created.reclamation.token = created.token
        return created.reclamation

    _build = _create


# --- Driving a record through the steps with the real services --------------------------------
def fill_step(reclamation: Reclamation, actor: Any) -> Reclamation:
    """Record what the current step needs (as a handler would), without completing it."""
    state = reclamation.state
    if state == Step.RECEIVED:
        services.reclamation_record_acknowledgement(reclamation=reclamation, actor=None)
    elif state == Step.IDENTIFICATION:
        services.reclamation_assign(reclamation=reclamation, actor=actor, handler=actor)
    elif state == Step.REFORMULATION:
        services.reclamation_update(reclamation=reclamation, actor=actor, changes={
            "reformulation": "Convocation tardive : la cliente demande un report sans frais."})
        services.reclamation_log_communication(
            reclamation=reclamation, actor=actor, kind="call", direction="outbound",
            body="Appel : la cliente confirme les faits.", duration_minutes=10)
    elif state == Step.ACTION_PROPOSAL:
        services.reclamation_update(reclamation=reclamation, actor=actor,
                                    changes={"severity": 2, "complexity": 1, "repercussions": 2})
        services.reclamation_add_action(reclamation=reclamation, actor=actor, kind=ActionKind.IMMEDIATE,
                                        description="Vérifier la date d'envoi des convocations.")
        services.reclamation_add_action(reclamation=reclamation, actor=actor, kind=ActionKind.CORRECTIVE,
                                        description="Envoyer les convocations 15 jours avant.")
    elif state == Step.SCHEDULING:
        for action in reclamation.actions.all():
            services.reclamation_update_action(action=action, actor=actor, changes={
                "owner": actor, "due_date": date.today() + timedelta(days=7)})
    elif state == Step.ACTION:
        for action in reclamation.actions.all():
            services.reclamation_update_action(action=action, actor=actor, changes={"status": ActionStatus.DONE})
        services.reclamation_update(reclamation=reclamation, actor=actor, changes={
            "decision": "favourable", "answer": "Votre session est reportée sans frais.",
            "compensation_type": "extra_service"})
        services.reclamation_send_answer(reclamation=reclamation, actor=actor)
    elif state == Step.FOLLOW_UP:
        services.reclamation_log_communication(
            reclamation=reclamation, actor=actor, kind="email", direction="outbound",
            purpose=Communication.Purpose.PROGRESS, public=True, body="Votre nouvelle convocation est envoyée.")
    elif state == Step.CONCLUSION:
        category = RootCauseCategoryFactory()
        services.reclamation_update(reclamation=reclamation, actor=actor, changes={
            "conclusion": "Report accordé, client satisfait.", "root_cause_category": category,
            "root_cause_analysis": "Envoi manuel des convocations, oublié en période de congés."})
    elif state == Step.FEEDBACK:
        services.reclamation_record_feedback(reclamation=reclamation, satisfaction=4, comment="Merci.")
    return Reclamation.objects.get(pk=reclamation.pk)


def advance(reclamation: Reclamation, to: str, actor: Any) -> Reclamation:
    """Fill and complete steps until the record is in state ``to``."""
    return services.reclamation_advance(reclamation=reclamation, to=to, actor=actor,
                                        fill=lambda r: fill_step(r, actor))


def yesterday() -> Any:
    return timezone.now() - timedelta(days=1)


# --- Public side: uploads and Contact-form data ------------------------------------------------
def pdf_bytes(text: str = "Convocation") -> bytes:
    """A tiny file that starts like a PDF (uploads are checked by content, not by name)."""
    return f"%PDF-1.4\n% {text}\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".encode()


def png_bytes() -> bytes:
    """A valid 1×1 PNG."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00"))
            + chunk(b"IEND", b""))


def upload(name: str = "convocation.pdf", content: bytes | None = None, content_type: str = "application/pdf"):
    """An uploaded file as a browser would send it (name and declared type chosen by the client)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, pdf_bytes() if content is None else content, content_type=content_type)


def contact_form_data(**overrides: Any) -> dict[str, Any]:
    """What a client types in the Contact form; ``started`` is a form shown a minute ago."""
    from reclamations.forms.public import started_token

    data = {
        "kind": "complaint",
        "stakeholder_type": "learner",
        "complainant_name": "Claire Dupont",
        "complainant_role": "Assistante RH",
        "complainant_organisation": "Transports Martin",
        "complainant_email": "claire.dupont@example.org",
        "complainant_phone": "06 12 34 56 78",
        "complainant_address": "3 rue des Lilas\n62000 Arras",
        "training_action": "SST, session du 12 mars",
        "subject": "Convocation reçue la veille de la formation",
        "description": "La convocation est arrivée trop tard pour organiser mon déplacement.",
        "wished_solution": "Un report de ma session sans frais.",
        "consent": "on",
        "website": "",
        "started": started_token(timezone.now().timestamp() - 60),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# --- Odd and hostile input, for the fuzz tests (hypothesis) -------------------------------------
HOSTILE_TEXTS = (
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)",
    "data:text/html,<script>alert(2)</script>", "{{ 7*7 }}", "{% debug %}", "'; DROP TABLE x; --",
    "facture\u202etxt.exe", "Ligne 1\r\nBcc: victime@example.org", '=HYPERLINK("http://pirate.example")',
    "\x00", "a\x00b", "\ufeff", "\x01\x1f\x7f", "\U0001f600" * 50, "\u200b\u200f", "%00", "../../etc/passwd",
    "R-2026-0001", "١٢٣", "0", "-1", "1e400", "NaN", "None", "null", "[]", "{}", "true",
)
# Around the length limits of the forms (200, 300, 500, 1 000, 2 000, 4 000, 5 000, 10 000,
# 20 000 characters), and far beyond.
LENGTHS = (199, 200, 201, 300, 301, 500, 501, 1_000, 1_001, 2_000, 2_001, 4_000, 4_001, 5_000, 5_001, 10_000,
           10_001, 20_000, 20_001, 100_000)
# Bytes that are not UTF-8 (a lone surrogate, an overlong slash, past U+10FFFF, a cut sequence), as
# percent-escapes in a raw form body: what a client that is not a browser can send.
NOT_UTF8 = ("%ED%A0%80", "%FF%FE", "%C0%AF", "%F4%90%80%80", "%E2%82", "%00")


@functools.cache  # one strategy object per size: hypothesis describes each only once
def odd_text(max_size: int = 300) -> Any:
    """Any text a browser can send (every character but the lone surrogates UTF-8 cannot carry):
    hostile strings, blanks, control characters, texts just under, at and over the limits."""
    from hypothesis import strategies as st

    return st.one_of(
        st.text(st.characters(exclude_categories=("Cs",)), max_size=max_size),
        st.sampled_from(HOSTILE_TEXTS),
        st.sampled_from(("", " ", "  \t ", "\r\n", "\u00a0\u2003\u3000", "\n\n\n")),
        st.sampled_from(LENGTHS).map(lambda n: "é" * n),
    )


@functools.cache
def plain_text(max_size: int, *, one_line: bool = False) -> Any:
    """Text a person could type: letters, punctuation, accents, emoji, the hostile strings without
    control characters (line breaks only in a multi-line field); never blank."""
    from hypothesis import strategies as st

    allowed = "" if one_line else "\r\n\t"

    def typeable(text: str) -> bool:
        return bool(text.strip()) and all((ord(ch) >= 32 and ch != "\x7f") or ch in allowed for ch in text)

    excluded = ("Cs", "Cc", "Zl", "Zp") if one_line else ("Cs", "Cc")
    typed = st.text(st.characters(exclude_categories=excluded), min_size=1, max_size=min(max_size, 120))
    hostile = st.sampled_from([t for t in HOSTILE_TEXTS if typeable(t) and len(t) <= max_size])
    return st.one_of(typed, hostile).filter(typeable)


@functools.cache
def odd_files() -> Any:
    """A few files as (name, content, declared type): good ones, hostile ones, empty, too big."""
    from hypothesis import strategies as st

    files = st.sampled_from([
        ("convocation.pdf", pdf_bytes(), "application/pdf"),
        ("photo.png", png_bytes(), "image/png"),
        ("notes.txt", "Réclamation\n".encode(), "text/plain"),
        ("facture.pdf", b"<html><script>alert(1)</script></html>", "application/pdf"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"),
        ("vide.pdf", b"", "application/pdf"),
        ("gros.pdf", pdf_bytes("x" * 5000), "application/pdf"),
        ("../../etc/passwd\u202egpj.pdf", pdf_bytes(), "application/pdf"),
        ("programme.exe", b"MZ\x90\x00" + b"\x00" * 64, "application/octet-stream"),
    ])
    return st.lists(files, max_size=4)


def as_uploads(files: list[tuple[str, bytes, str]]) -> list[Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return [SimpleUploadedFile(name, content, content_type=kind) for name, content, kind in files]


GOOD_FILES = (
    ("convocation.pdf", pdf_bytes(), "application/pdf"),
    ("photo de la salle.png", png_bytes(), "image/png"),
    ("notes.txt", "Réclamation : la salle était fermée.\n".encode(), "text/plain"),
)
ODD_CHOICES = ("", " ", "\x00", "0", "-1", "999999999", "1.5", "abc", str(2**64), " 1", "1 ", "١")
ODD_DATES = ("", "2026-02-30", "2026-13-01", "31/02/2026", "0000-00-00", "0001-01-01", "9999-12-31", "10000-01-01",
             "1970-01-01T00:00", "2026-03-31T25:00", "2026-03-31T23:60", "31/12/9999 23:59", "hier", "now",
             "2026-03-31T10:00:00+14:00", "2026-03-31 10:00:00.123456", "\x00", "-1", "1e10")
ODD_NUMBERS = ("", "1e3", " 12 ", "١٢", "0x10", "1_000", "9" * 40, "-0", "\x00", "NaN", "Infinity", "-Infinity",
               "1e400", "1E-400", "0,5", "10.005", "99999999999999.99", "-5", "+3", "٣.٥")
GOOD_EMAILS = ("claire.dupont@example.org", "j.o'neil+reclamation@sous-domaine.example.fr", "a@b.co")


def form_value(field: Any, *, valid: bool) -> Any:
    """A hypothesis strategy for what a POST may hold for one Django form field: a value it should
    accept (``valid``), or anything at all.

    Build these once per test (not once per example): hypothesis describes every new strategy,
    which costs far more than drawing from it."""
    from django import forms
    from django.core.validators import RegexValidator
    from hypothesis import strategies as st

    if isinstance(field, forms.FileField):
        return st.lists(st.sampled_from(GOOD_FILES), max_size=2) if valid else odd_files()
    if isinstance(field, forms.BooleanField):
        if valid:
            return st.just("on") if field.required else st.sampled_from(("on", ""))
        return st.sampled_from(("on", "", "false", "0", "off", "\x00", "oui"))
    if isinstance(field, forms.ModelChoiceField):
        pks = [str(obj.pk) for obj in field.queryset]
        if valid:
            return st.sampled_from(pks + ([] if field.required and pks else [""]))
        return st.one_of(st.sampled_from(pks + list(ODD_CHOICES)), odd_text(20))
    if isinstance(field, forms.ChoiceField):
        values = [str(value) for value, _label in field.choices if value != ""]
        if valid:
            return st.sampled_from(values + ([] if field.required else [""]))
        return st.one_of(st.sampled_from(values + list(ODD_CHOICES)), odd_text(30))
    if isinstance(field, (forms.DateTimeField, forms.DateField)):
        today = timezone.localdate()
        if isinstance(field, forms.DateTimeField):
            good = st.integers(1, 72 * 60).map(lambda minutes: timezone.localtime(
                timezone.now() - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M"))
        else:
            good = st.integers(-30, 30).map(lambda days: (today + timedelta(days=days)).isoformat())
        if valid:
            return good if field.required else st.one_of(good, st.just(""))
        anyday = st.datetimes().map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M"))
        return st.one_of(good, anyday, st.dates().map(lambda d: d.strftime("%d/%m/%Y")), st.sampled_from(ODD_DATES),
                         odd_text(30))
    if isinstance(field, (forms.IntegerField, forms.DecimalField)):  # DecimalField is an IntegerField
        low = int(field.min_value) if field.min_value is not None else 0
        high = int(field.max_value) if field.max_value is not None else 1000
        good = st.integers(low, high).map(str)
        if valid:
            return good if field.required else st.one_of(good, st.just(""))
        return st.one_of(good, st.integers().map(str), st.sampled_from(ODD_NUMBERS), odd_text(20))
    if isinstance(field, forms.EmailField):
        good = st.sampled_from(GOOD_EMAILS)
        return good if valid else st.one_of(good, st.emails(), odd_text(300))
    if isinstance(field, forms.CharField):
        limit = field.max_length or 20_000
        pattern = next((v.regex.pattern for v in field.validators if isinstance(v, RegexValidator)), None)
        one_line = not isinstance(field.widget, forms.Textarea)
        good = st.from_regex(pattern, fullmatch=True) if pattern else plain_text(limit, one_line=one_line)
        if valid:
            return good if field.required else st.one_of(good, st.just(""))
        return st.one_of(good, odd_text(min(limit + 10, 400)))
    return odd_text(100)


# --- Received e-mails ------------------------------------------------------------------------------
CLIENT = "Claire Dupont <claire.dupont@example.org>"
HOSTILE_HTML = (
    '<html><head><style>body{background:url(https://tracker.example/bg.png)}</style>'
    '<script>alert("x")</script></head><body><p>Bonjour,</p>'
    '<p>La formation <b>Sauveteur secouriste</b> du 3 mars a été annulée sans prévenir.</p>'
    '<img src="https://tracker.example/pixel.gif?id=42" onerror="alert(1)">'
    '<a href="javascript:alert(2)">cliquez ici</a><iframe src="https://evil.example/"></iframe>'
    '<p>Merci de me rembourser &amp; de me tenir informée.</p></body></html>'
)


def inbound_email(
    *,
    sender: str = CLIENT,
    subject: str = "Formation annulée sans prévenir",
    text: str | None = "Bonjour,\n\nLa formation du 3 mars a été annulée sans prévenir.\n\nClaire Dupont",
    html: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
    files: tuple[tuple[str, bytes, str], ...] = (),
) -> bytes:
    """An RFC 822 message as a client's mail program would send it."""
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    message = EmailMessage()
    message["From"] = sender
    message["To"] = "reclamations@organisme.example"
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = message_id or make_msgid(domain="example.org")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    for name, data, content_type in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def bounce_email(*, original: bytes, auto_submitted: bool = True) -> bytes:
    """A delivery status notification (RFC 3464) from the recipient's server, quoting ``original``
    (``auto_submitted=False``: one of the servers that forget to say they are a machine)."""
    from email.utils import formatdate, make_msgid

    boundary = "=_bounce_boundary"
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        f"To: reclamations@organisme.example\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {formatdate(localtime=True)}\r\n"
        f"Message-ID: {make_msgid(domain='mx.example.org')}\r\n"
        + ("Auto-Submitted: auto-replied\r\n" if auto_submitted else "")
        + "MIME-Version: 1.0\r\n"
        + f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; nobody@example.org\r\n"
        f"Action: failed\r\nStatus: 5.1.1\r\n\r\n"
        f"--{boundary}\r\nContent-Type: message/rfc822\r\n\r\n"
    ).encode() + original + f"\r\n--{boundary}--\r\n".encode()
