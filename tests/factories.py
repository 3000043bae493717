"""factory_boy factories. Records are created through ``services.reclamation_create`` so that each
one has its reference, token, deadlines and creation event, exactly as in production."""
from __future__ import annotations

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
from reclamations.workflow import NINE_STEPS, Step


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
    target = len(NINE_STEPS) if to == Step.CLOSED else [s.value for s in NINE_STEPS].index(to)
    while [s.value for s in NINE_STEPS].index(reclamation.state) < target:
        reclamation = fill_step(reclamation, actor)
        reclamation = services.reclamation_complete_step(
            reclamation=reclamation, actor=actor, expected_state=reclamation.state)
        if reclamation.state == Step.CLOSED:
            break
    return reclamation


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
