"""Files sent with a message or the argued answer (issue 17, point 6): chosen from the record or
uploaded while writing, attached to the e-mail within OUTGOING_ATTACHMENTS_MAX_BYTES, the rest as a
link to the follow-up page, shown there next to the message; only the record's own files."""

from __future__ import annotations

import html
import re

import pytest
from django.core import mail
from django.urls import reverse
from post_office.models import STATUS, Email

from reclamations import outbox, services
from reclamations.models import Attachment, Communication
from reclamations.uploads import check_uploads
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance, pdf_bytes, png_bytes, upload

pytestmark = pytest.mark.django_db


def text(response) -> str:
    words = re.sub(r"<[^>]+>", "", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(words))


def record_file(reclamation, actor, name="attestation.pdf", content=None, *, public=True) -> Attachment:
    return services.reclamation_add_attachments(
        reclamation=reclamation, actor=actor, uploads=check_uploads([upload(name, content)]), public=public
    )[0]


MESSAGE = {"purpose": "progress", "subject": "Votre attestation corrigée", "body": "Voici l'attestation corrigée."}


def sent_to_client(reclamation):
    return [m for m in mail.outbox if m.to == [reclamation.complainant_email] and "attestation" in m.subject]


def test_a_file_of_the_record_chosen_for_a_message_travels_with_the_email(
    login, handler, bo_post, django_capture_on_commit_callbacks
):
    reclamation = ReclamationFactory()
    attestation = record_file(reclamation, handler, content=pdf_bytes("Attestation corrigée"))

    with django_capture_on_commit_callbacks(execute=True):
        response = bo_post(login(handler), reclamation, "message", {**MESSAGE, "files": [attestation.pk]})

    assert response.status_code == 302
    [email] = sent_to_client(reclamation)
    assert email.attachments == [("attestation.pdf", pdf_bytes("Attestation corrigée"), "application/pdf")]
    assert "Pièce jointe : attestation.pdf." in email.body
    communication = reclamation.communications.get(purpose=Communication.Purpose.PROGRESS)
    assert list(communication.sent_files.all()) == [attestation]


def test_a_file_uploaded_with_the_message_is_kept_on_the_record_and_sent(
    login, handler, bo_post, django_capture_on_commit_callbacks
):
    reclamation = ReclamationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = bo_post(
            login(handler),
            reclamation,
            "message",
            {**MESSAGE, "new_files": upload("planning.png", png_bytes(), "image/png")},
        )

    assert response.status_code == 302
    stored = reclamation.attachments.get()
    assert stored.original_name == "planning.png" and stored.public
    assert stored.communication.purpose == Communication.Purpose.PROGRESS
    [email] = sent_to_client(reclamation)
    assert [(name, mimetype) for name, _content, mimetype in email.attachments] == [("planning.png", "image/png")]


def test_an_uploaded_file_gets_the_same_content_checks_and_nothing_is_sent(
    login, handler, bo_post, django_capture_on_commit_callbacks
):
    reclamation = ReclamationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = bo_post(
            login(handler),
            reclamation,
            "message",
            {**MESSAGE, "new_files": upload("facture.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")},
        )

    assert response.status_code == 200
    page = text(response)
    assert "n'est pas d'un type accepté" in page
    assert "Voici l'attestation corrigée." in page  # what was typed comes back
    assert not reclamation.communications.filter(purpose=Communication.Purpose.PROGRESS).exists()
    assert not reclamation.attachments.exists() and sent_to_client(reclamation) == []


def test_files_beyond_the_total_size_go_as_a_link_to_the_follow_up_page(
    login, handler, bo_post, client, settings, django_capture_on_commit_callbacks
):
    reclamation = ReclamationFactory()
    small = record_file(reclamation, handler, "petit.pdf", pdf_bytes("x"))
    big = record_file(reclamation, handler, "gros.pdf", pdf_bytes("y" * 400))
    settings.OUTGOING_ATTACHMENTS_MAX_BYTES = small.size + 100  # room for the small one only

    with django_capture_on_commit_callbacks(execute=True):
        bo_post(login(handler), reclamation, "message", {**MESSAGE, "files": [big.pk, small.pk]})

    [email] = sent_to_client(reclamation)
    assert [name for name, _content, _type in email.attachments] == ["petit.pdf"]
    assert "trop volumineux pour être joint à ce courriel" in email.body
    assert "gros.pdf" in email.body
    link = re.search(r"https?://\S+/suivi/(\S+)/", email.body)
    assert link is not None
    page = client.get(reverse("public:follow_up", args=[link.group(1)]))
    assert page.status_code == 200
    assert reverse("public:follow_up_attachment", args=[link.group(1), big.pk]) in page.content.decode()
    # The client's earlier link still works.
    assert client.get(reverse("public:follow_up", args=[reclamation.token])).status_code == 200


def test_a_forged_id_of_another_records_file_is_refused_in_french(
    login, handler, bo_post, django_capture_on_commit_callbacks
):
    reclamation, other = ReclamationFactory(), ReclamationFactory(complainant_email="autre@example.org")
    foreign = record_file(other, handler, "confidentiel.pdf")

    with django_capture_on_commit_callbacks(execute=True):
        response = bo_post(login(handler), reclamation, "message", {**MESSAGE, "files": [foreign.pk]})

    assert response.status_code == 200
    assert "Ce fichier n'est pas une pièce de cette réclamation" in text(response)
    assert not reclamation.communications.filter(purpose=Communication.Purpose.PROGRESS).exists()
    assert mail.outbox == []
    # The service checks it too, whoever calls it.
    with pytest.raises(services.WorkflowError, match="n'est pas une pièce de cette réclamation"):
        services.reclamation_send_message(
            reclamation=reclamation,
            actor=handler,
            purpose="progress",
            subject="Objet",
            body="Texte",
            attachment_ids=[foreign.pk],
        )
    assert not Email.objects.exists()


def test_the_follow_up_page_shows_the_file_next_to_the_message(login, handler, bo_post, client):
    reclamation = ReclamationFactory()
    internal = record_file(reclamation, handler, "attestation.pdf", public=False)

    bo_post(login(handler), reclamation, "message", {**MESSAGE, "files": [internal.pk]})

    page = client.get(reverse("public:follow_up", args=[reclamation.token])).content.decode()
    message = re.search(
        r'<article class="message[^"]*"[^>]*>(?:(?!</article>).)*Voici l&#x27;attestation corrigée'
        r"(?:(?!</article>).)*</article>",
        page,
        re.S,
    )
    assert message is not None
    url = reverse("public:follow_up_attachment", args=[reclamation.token, internal.pk])
    assert url in message.group(0) and "attestation.pdf" in message.group(0)
    # Sent to the client, the file is theirs to download; the change is in the record's history.
    assert client.get(url).status_code == 200
    assert reclamation.events.filter(summary__startswith="Rendu visible au réclamant").exists()


def test_a_long_file_name_without_extension_is_sent_under_that_name(handler, django_capture_on_commit_callbacks):
    reclamation = ReclamationFactory()
    name = "attestation_de_formation_version_finale_corrigee_signee_par_le_directeur_pedagogique_2026_v2"
    attestation = record_file(reclamation, handler, name)

    with django_capture_on_commit_callbacks(execute=True):
        services.reclamation_send_message(
            reclamation=reclamation,
            actor=handler,
            purpose="progress",
            subject="Votre attestation",
            body="Ci-joint.",
            attachment_ids=[attestation.pk],
        )

    [email] = sent_to_client(reclamation)
    assert [file_name for file_name, _content, _type in email.attachments] == [name]


def test_the_argued_answer_carries_its_files(login, handler, bo_post, django_capture_on_commit_callbacks):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
    for action in reclamation.actions.all():
        services.reclamation_update_action(action=action, actor=handler, changes={"status": "done"})
    avoir = record_file(reclamation, handler, "avoir.pdf", pdf_bytes("Avoir"))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = bo_post(
            login(handler),
            reclamation,
            "answer",
            {
                "decision": "partial",
                "answer": "Nous vous accordons un avoir.",
                "means": "email",
                "compensation_type": "",
                "files": [avoir.pk],
            },
            send="1",
        )

    assert response.status_code == 302
    [email] = [m for m in mail.outbox if m.to == [reclamation.complainant_email]]
    assert email.attachments == [("avoir.pdf", pdf_bytes("Avoir"), "application/pdf")]
    answer = reclamation.communications.get(purpose=Communication.Purpose.ANSWER)
    assert list(answer.sent_files.all()) == [avoir]


def test_an_email_waiting_for_a_down_smtp_server_keeps_its_files(handler):
    reclamation = ReclamationFactory()
    attestation = record_file(reclamation, handler, content=pdf_bytes("Attestation"))

    # Not sent now (no after-commit dispatch: the server is down); the e-mail waits in the outbox.
    sent = services.reclamation_send_message(
        reclamation=reclamation,
        actor=handler,
        purpose="progress",
        subject="Votre attestation",
        body="Ci-joint.",
        attachment_ids=[attestation.pk],
    )
    waiting = Email.objects.get(pk=sent.communication.email_id)
    assert waiting.status == STATUS.queued and mail.outbox == []
    # Whatever happens to the record's file meanwhile, the outbox holds its own copy.
    attestation.file.storage.delete(attestation.file.name)

    outbox.send_due()

    [email] = sent_to_client(reclamation)
    assert email.attachments == [("attestation.pdf", pdf_bytes("Attestation"), "application/pdf")]


def test_erasing_the_record_deletes_the_outbox_copies(handler, quality_lead):
    reclamation = ReclamationFactory()
    attestation = record_file(reclamation, handler)
    sent = services.reclamation_send_message(
        reclamation=reclamation,
        actor=handler,
        purpose="progress",
        subject="Votre attestation",
        body="Ci-joint.",
        attachment_ids=[attestation.pk],
    )
    copy = Email.objects.get(pk=sent.communication.email_id).attachments.get()
    storage, name = copy.file.storage, copy.file.name
    assert storage.exists(name)
    services.reclamation_discard(reclamation=reclamation, actor=handler, reason="Doublon")

    services.reclamation_anonymise(reclamation=reclamation, actor=quality_lead, reason="Demande de la personne")

    assert not storage.exists(name)
    assert not type(copy).objects.filter(pk=copy.pk).exists()


def test_a_file_uploaded_with_a_draft_answer_is_kept_for_sending_later(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
    mail.outbox.clear()

    response = bo_post(
        login(handler),
        reclamation,
        "answer",
        {
            "decision": "partial",
            "answer": "Brouillon de réponse.",
            "means": "email",
            "compensation_type": "",
            "new_files": upload("avoir.pdf"),
        },
        send="0",
    )

    assert response.status_code == 302
    kept = reclamation.attachments.get()
    assert kept.original_name == "avoir.pdf" and not kept.public  # not the client's until sent
    assert mail.outbox == []
    page = login(handler).get(reverse("backoffice:detail", args=[reclamation.pk])).content.decode()
    assert f'name="answer-files" value="{kept.pk}"' in page  # offered when the answer goes out
