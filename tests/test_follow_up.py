"""The client's follow-up page: what it shows (and never shows), adding a message, the secret link
(hashed, compared in constant time, 404 like any unknown URL). The lost-link page: test_lost_link.py."""
from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from post_office.models import Email

from reclamations import services, tokens, uploads
from reclamations.journal import CLIENT_LABEL
from reclamations.models import Communication, Event, EventKind, Reclamation
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance, pdf_bytes, upload

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror="alert(1)"><a href="javascript:alert(2)">clic</a>'


def url(reclamation: Reclamation) -> str:
    return f"/suivi/{reclamation.token}/"


def advanced(to: str, actor) -> Reclamation:
    """A record moved to step ``to`` that still knows its follow-up token."""
    reclamation = ReclamationFactory()
    token = reclamation.token
    reclamation = advance(reclamation, to, actor)
    reclamation.token = token
    return reclamation


def _message(client, reclamation, django_capture_on_commit_callbacks, **data):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(url(reclamation), data)


# --- The secret link --------------------------------------------------------------------------------
def test_the_token_has_at_least_128_bits_and_only_its_hash_is_stored():
    reclamation = ReclamationFactory()

    # URL-safe base64: 6 bits per character.
    assert re.fullmatch(r"[A-Za-z0-9_-]+", reclamation.token)
    assert len(reclamation.token) * 6 >= 128
    stored = Reclamation.objects.get(pk=reclamation.pk)
    assert stored.token_hash == tokens.hash_token(reclamation.token)
    assert reclamation.token not in str(Reclamation.objects.filter(pk=reclamation.pk).values().get())


def test_the_token_is_compared_in_constant_time(client):
    reclamation = ReclamationFactory()
    with mock.patch("reclamations.tokens.token_matches", wraps=tokens.token_matches) as compared:
        assert client.get(url(reclamation)).status_code == 200
    compared.assert_called_once_with(reclamation.token, reclamation.token_hash)


@pytest.mark.parametrize("token", ["x" * 43, "lien-inconnu", "a" * 500, "%00"])
def test_a_wrong_token_gets_the_same_404_page_as_any_unknown_url(client, token):
    ReclamationFactory()
    unknown = client.get("/nulle-part/")

    response = client.get(f"/suivi/{token}/")

    assert response.status_code == 404
    assert response.content == unknown.content


def test_an_expired_token_gets_the_same_404_page(client):
    reclamation = ReclamationFactory()
    Reclamation.objects.filter(pk=reclamation.pk).update(token_expires_at=timezone.now() - timedelta(minutes=1))

    response = client.get(url(reclamation))

    assert response.status_code == 404
    assert response.content == client.get("/nulle-part/").content
    assert client.post(url(reclamation), {"body": "Encore là ?"}).status_code == 404
    Reclamation.objects.filter(pk=reclamation.pk).update(token_expires_at=timezone.now() + timedelta(days=1))
    assert client.get(url(reclamation)).status_code == 200


def test_the_page_is_neither_cached_nor_sent_as_referer_nor_indexed(client):
    response = client.get(url(ReclamationFactory()))

    # Never sent to another site; "same-origin" rather than "no-referrer", under which browsers
    # send the message form with "Origin: null" and the CSRF check refuses it.
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex, nofollow"


# --- What the page shows ----------------------------------------------------------------------------
def test_it_shows_the_reference_kind_date_and_the_nine_steps_in_plain_french(client):
    reclamation = ReclamationFactory(kind="difficulty")

    html = client.get(url(reclamation)).content.decode()

    assert reclamation.reference in html
    assert "Suivi de votre difficulté" in html
    assert timezone.localtime(reclamation.received_at).strftime("%H:%M") in html
    labels = re.findall(r'<span class="progress-step-label">([^<]+)<', html)
    assert labels == [
        "Votre demande est reçue", "Nous identifions votre demande", "Nous reprenons contact avec vous",
        "Nous recherchons la cause et les actions", "Nous fixons les échéances", "Nous mettons en œuvre les actions",
        "Nous vous tenons informé(e)", "Nous concluons le traitement", "Nous recueillons votre avis",
    ]
    assert html.count('aria-current="step"') == 1
    assert "étape en cours" in html and "étape à venir" in html


def test_the_progress_follows_the_record(client, handler):
    reclamation = advanced(Step.ACTION_PROPOSAL, handler)

    html = client.get(url(reclamation)).content.decode()

    assert html.count("étape terminée") == 3
    current = re.search(r'<li class="progress-step is-current" aria-current="step">.*?</li>', html, re.S).group(0)
    assert "Nous recherchons la cause et les actions" in current
    assert "Nous recherchons la cause et les actions" in re.search(r'data-testid="state">([^<]+)<', html).group(1)


def test_a_closed_record_shows_every_step_done_and_no_message_form(client, handler):
    reclamation = advanced(Step.CLOSED, handler)

    html = client.get(url(reclamation)).content.decode()

    assert html.count("étape terminée") == 9
    assert "Traitement terminé" in html
    assert 'name="body"' not in html
    assert "Ce dossier est clôturé" in html


def test_it_shows_public_events_and_exchanges_but_never_internal_ones(client, handler):
    token = (created := ReclamationFactory()).token
    reclamation = advance(created, Step.REFORMULATION, handler)  # where the reformulation is written
    reclamation.token = token
    services.reclamation_log_communication(
        reclamation=reclamation, actor=handler, kind="note", direction="internal",
        body="Note interne : client difficile, voir avec la direction.")
    services.reclamation_log_communication(
        reclamation=reclamation, actor=handler, kind="call", direction="outbound", public=False,
        body="Appel non visible par le client.")
    services.reclamation_log_communication(
        reclamation=reclamation, actor=handler, kind="email", direction="outbound", public=True,
        purpose=Communication.Purpose.PROGRESS, subject="Point d'avancement",
        body="Votre nouvelle convocation part demain.")
    services.reclamation_update(reclamation=reclamation, actor=handler, changes={"reformulation": "Secret interne"})

    html = client.get(url(reclamation)).content.decode()

    assert "Votre nouvelle convocation part demain." in html
    assert "Note interne" not in html
    assert "Appel non visible" not in html
    assert "Secret interne" not in html
    assert "Modification :" not in html  # a non-public event
    assert "Réclamation enregistrée" in html  # the public creation event


def test_hostile_text_is_rendered_inert(client, handler):
    reclamation = ReclamationFactory(subject="<script>alert('objet')</script>", description=HOSTILE)
    services.reclamation_add_client_message(reclamation=reclamation, body=HOSTILE)
    services.reclamation_log_communication(reclamation=reclamation, actor=handler, kind="email",
                                           direction="outbound", public=True, body=HOSTILE)
    checked = uploads.check_uploads([upload('"><script>alert(3)</script>.pdf')])
    services.reclamation_add_attachments(reclamation=reclamation, actor=None, uploads=checked)

    html = client.get(url(reclamation)).content.decode()

    assert "<script>alert" not in html
    assert "onerror=" not in html.replace("onerror=&quot;", "")
    assert 'href="javascript:' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "&lt;a href=&quot;javascript:alert(2)&quot;&gt;" in html
    # Only our own scripts run on the page.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/js/public.js" defer>']


# --- Adding a message -------------------------------------------------------------------------------
def test_the_client_adds_a_message_with_a_file_and_the_handler_is_told(client, handler,
                                                                       django_capture_on_commit_callbacks):
    reclamation = ReclamationFactory()
    services.reclamation_assign(reclamation=reclamation, actor=handler, handler=handler)

    response = _message(client, reclamation, django_capture_on_commit_callbacks,
                        body="Voici la convocation reçue.", attachments=[upload("convocation.pdf")])

    assert response.status_code == 302
    assert response["Location"] == url(reclamation)
    message = Communication.objects.get(reclamation=reclamation, direction="inbound")
    assert (message.kind, message.public, message.body) == ("message", True, "Voici la convocation reçue.")
    assert message.attachments.get().original_name == "convocation.pdf"
    event = Event.objects.get(reclamation=reclamation, kind=EventKind.COMMUNICATION)
    assert event.public and event.actor_label == CLIENT_LABEL
    assert Event.objects.filter(reclamation=reclamation, kind=EventKind.ATTACHMENT_ADDED, public=True).exists()
    notice, = [m for m in mail.outbox if m.to == [handler.email]]
    assert notice.subject == f"Nouveau message du réclamant — {reclamation.reference}"
    assert f"/backoffice/reclamations/{reclamation.pk}/" in notice.body
    assert reclamation.token not in notice.body

    page = client.get(url(reclamation)).content.decode()
    assert "Votre message a bien été transmis" in page
    assert "Voici la convocation reçue." in page
    assert f'href="/suivi/{reclamation.token}/pieces/{message.attachments.get().pk}/"' in page


def test_without_a_handler_the_quality_lead_is_told(client, quality_lead, handler,
                                                    django_capture_on_commit_callbacks):
    reclamation = ReclamationFactory()

    _message(client, reclamation, django_capture_on_commit_callbacks, body="Une précision.")

    assert [m.to for m in mail.outbox] == [[quality_lead.email]]


def test_an_empty_or_oversized_message_is_refused_with_a_french_message(client, settings,
                                                                         django_capture_on_commit_callbacks):
    settings.ATTACHMENT_MAX_BYTES = 100
    reclamation = ReclamationFactory()

    empty = _message(client, reclamation, django_capture_on_commit_callbacks, body="   ")
    huge = _message(client, reclamation, django_capture_on_commit_callbacks, body="x" * 1_000_000)
    bad_file = _message(client, reclamation, django_capture_on_commit_callbacks, body="Voici",
                        attachments=[upload("gros.pdf", pdf_bytes("x" * 200))])
    nul = _message(client, reclamation, django_capture_on_commit_callbacks, body="a\x00b")

    assert "Écrivez votre message." in empty.content.decode()
    assert "Ce texte est trop long" in huge.content.decode()
    assert "dépasse la taille maximale" in bad_file.content.decode()
    assert "sélectionnez-les encore une fois" in bad_file.content.decode()
    assert "Le caractère nul n’est pas autorisé." in nul.content.decode()
    assert not Communication.objects.filter(reclamation=reclamation, direction="inbound").exists()
    assert Email.objects.count() == 0
    assert mail.outbox == []


def test_a_closed_record_takes_no_more_messages(client, handler, django_capture_on_commit_callbacks):
    reclamation = advanced(Step.CLOSED, handler)
    emails_before = Email.objects.count()

    response = _message(client, reclamation, django_capture_on_commit_callbacks, body="Encore une chose.")

    # Nothing added, but what the client typed comes back, to be copied into the contact form.
    assert response.status_code == 200
    assert "Votre message n'a pas été envoyé" in response.content.decode()
    assert "Encore une chose." in response.content.decode()
    assert not Communication.objects.filter(reclamation=reclamation, direction="inbound").exists()
    assert Email.objects.count() == emails_before
    assert "il n'est plus possible d'y ajouter un message" in client.get(url(reclamation)).content.decode()
    with pytest.raises(services.WorkflowError, match="Ce dossier est clôturé"):
        services.reclamation_add_client_message(reclamation=reclamation, body="Par le service")


def test_messages_are_rate_limited_per_address(
    client, settings, django_capture_on_commit_callbacks, one_rate_limit_window
):
    settings.FOLLOW_UP_RATE_LIMIT = "2/10m"
    reclamation = ReclamationFactory()
    for _ in range(2):
        _message(client, reclamation, django_capture_on_commit_callbacks, body="Message")

    response = _message(client, reclamation, django_capture_on_commit_callbacks, body="Un de trop")

    assert response.status_code == 429
    assert Communication.objects.filter(reclamation=reclamation, direction="inbound").count() == 2


def test_a_message_without_csrf_token_is_refused():
    reclamation = ReclamationFactory()
    response = Client(enforce_csrf_checks=True).post(url(reclamation), {"body": "Bonjour"})

    assert response.status_code == 403
    assert not Communication.objects.filter(reclamation=reclamation, direction="inbound").exists()


# --- Layout: the status and the reply box first, the messages folded --------------------------------
LONG_ANSWER = "Bonjour Paul,\n\n" + "Nous avons étudié votre demande avec le formateur et la direction. " * 8 + (
    "\n\nNous vous proposons une nouvelle session le 12 mars, aux mêmes conditions.\n\nCordialement")


def test_it_puts_the_reply_form_before_the_first_message(client):
    reclamation = ReclamationFactory()
    services.reclamation_log_communication(
        reclamation=reclamation, actor=None, kind="email", direction="outbound", public=True,
        subject="Point d'avancement", body="Nous cherchons une autre salle.", purpose="progress")

    html = client.get(url(reclamation)).content.decode()

    assert html.index('data-testid="state"') < html.index("Envoyer mon message") < html.index('data-testid="message"')


def test_it_folds_a_long_message_under_lire_la_suite_and_shows_a_short_one_whole(client):
    reclamation = ReclamationFactory()
    for subject, body in (("Réponse", LONG_ANSWER), ("Point d'avancement", "Nous cherchons une autre salle.")):
        services.reclamation_log_communication(
            reclamation=reclamation, actor=None, kind="email", direction="outbound", public=True,
            subject=subject, body=body, purpose="progress")

    html = client.get(url(reclamation)).content.decode()

    assert html.count("Lire la suite") == 1
    folded = html.split("<summary>", 2)[2]  # past the steps' summary: the long message's
    assert folded.index("Lire la suite") < folded.index("Nous vous proposons une nouvelle session le 12 mars")
    before = html.split("Lire la suite")[0]
    assert "Bonjour Paul," in before and "Nous vous proposons une nouvelle session" not in before
    assert "Nous cherchons une autre salle." in html


def test_it_shows_the_latest_message_first(client):
    reclamation = ReclamationFactory()
    for body in ("Premier message.", "Deuxième message."):
        services.reclamation_log_communication(
            reclamation=reclamation, actor=None, kind="email", direction="outbound", public=True,
            subject="Point d'avancement", body=body, purpose="progress")

    html = client.get(url(reclamation)).content.decode()

    assert html.index("Deuxième message.") < html.index("Premier message.")
