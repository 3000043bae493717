"""The public Contact form: what it asks, what it stores, and everything it refuses without storing
or sending anything (robots, floods, hostile or malformed input)."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core import mail, signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from post_office.models import Email

from reclamations.forms.public import started_token
from reclamations.models import Attachment, Communication, Event, EventKind, Reclamation, Service
from reclamations.views.public import DONE_COOKIE
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, ServiceFactory, contact_form_data, upload

pytestmark = pytest.mark.django_db

CONTACT = "/contact/"


@pytest.fixture
def service():
    return ServiceFactory(name="Formation inter-entreprises")


def _post(client, django_capture_on_commit_callbacks, **overrides):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(CONTACT, contact_form_data(**overrides))


def attachment_files(settings) -> list[Path]:
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"]) / "attachments"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_nothing_stored_or_sent() -> None:
    assert Reclamation.objects.count() == 0
    assert Attachment.objects.count() == 0
    assert Event.objects.count() == 0
    assert Email.objects.count() == 0
    assert mail.outbox == []


# --- The page -----------------------------------------------------------------------------------
def test_the_home_page_leads_to_the_contact_form(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == CONTACT


def test_the_form_asks_everything_with_labels_fieldsets_and_required_marks(client, service):
    html = client.get(CONTACT).content.decode()

    for legend in ("Votre demande", "Vos coordonnées", "Ce qui vous amène", "Pièces justificatives",
                   "Vos données personnelles"):
        assert f"<legend>{legend}</legend>" in html
    for field in ("kind", "stakeholder_type", "complainant_name", "complainant_role", "complainant_organisation",
                  "complainant_phone", "complainant_email", "complainant_address", "service", "training_action",
                  "subject", "description", "wished_solution", "attachments", "consent"):
        assert f'name="{field}"' in html, field
    # Each text input has its label; help texts are tied to their fields.
    assert '<label\n                for="id_complainant_name"' in html or 'for="id_complainant_name"' in html
    assert 'aria-describedby="id_complainant_email_helptext"' in html
    assert "Les champs marqués d'un astérisque" in html
    assert html.count('<span class="asteriskField">*</span>') >= 8
    # Kind: only réclamation and difficulté; an aléa is logged by staff.
    assert 'value="complaint"' in html and 'value="difficulty"' in html and 'value="incident"' not in html
    # The privacy page is one click away from the consent box.
    assert 'href="/confidentialite/"' in html


def test_the_page_uses_our_own_static_files_and_no_inline_script_or_style(client):
    html = client.get(CONTACT).content.decode()

    assert "/static/bootstrap/css/bootstrap.min.css" in html
    assert "/static/css/public.css" in html and "/static/js/public.js" in html
    assert "cdn" not in html.lower()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html


def test_the_privacy_page_says_what_is_kept_why_how_long_and_the_rights(client, settings):
    settings.PERSONAL_DATA_RETENTION_YEARS = 3
    html = client.get("/confidentialite/").content.decode()

    for words in ("Ce que nous conservons", "Pourquoi", "Combien de temps", "3 ans", "Vos droits", "CNIL"):
        assert words in html


# --- A successful submission --------------------------------------------------------------------
def test_it_registers_the_request_in_step_1_with_its_deadlines_and_consent(client, service,
                                                                           django_capture_on_commit_callbacks):
    response = _post(client, django_capture_on_commit_callbacks, service=service.pk)

    assert response.status_code == 302
    assert response["Location"] == "/contact/merci/"
    reclamation = Reclamation.objects.get()
    # Registered at step 1; the acknowledgement e-mail went out (tasks run at once in tests), which
    # completed step 1 by itself.
    assert reclamation.acknowledged_at is not None and reclamation.state == Step.IDENTIFICATION
    assert Event.objects.filter(reclamation=reclamation, kind=EventKind.STEP_COMPLETED,
                                summary="Étape 1 terminée automatiquement : accusé de réception envoyé.").exists()
    assert reclamation.channel == "web_form"
    assert reclamation.kind == "complaint"
    assert reclamation.stakeholder_type == "learner"
    assert reclamation.service == service
    assert reclamation.complainant_name == "Claire Dupont"
    assert reclamation.complainant_address == "3 rue des Lilas\n62000 Arras"
    assert reclamation.wished_solution == "Un report de ma session sans frais."
    assert reclamation.consent_at == reclamation.received_at
    assert reclamation.ack_due_at == reclamation.received_at + timedelta(hours=48)
    assert reclamation.answer_due_at == reclamation.received_at + timedelta(hours=48)
    created = Event.objects.get(reclamation=reclamation, kind=EventKind.CREATED)
    assert created.actor_label == "Client (formulaire Contact)"
    assert created.actor is None


def test_the_confirmation_page_shows_the_reference_and_the_link_once(client, service,
                                                                     django_capture_on_commit_callbacks):
    _post(client, django_capture_on_commit_callbacks, service=service.pk)
    reclamation = Reclamation.objects.get()

    response = client.get("/contact/merci/")
    html = response.content.decode()
    assert reclamation.reference in html
    link = re.search(r'href="(/suivi/[A-Za-z0-9_-]{43}/)"', html).group(1)
    assert client.get(link).status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]

    # The token was kept for that one page only: a reload shows no link.
    again = client.get("/contact/merci/").content.decode()
    assert "/suivi/" not in again.replace("/suivi/lien-perdu/", "")
    assert reclamation.reference not in again


def test_a_submission_keeps_nothing_about_the_client_in_a_server_session(client, service,
                                                                          django_capture_on_commit_callbacks):
    _post(client, django_capture_on_commit_callbacks, service=service.pk)
    client.get("/contact/merci/")

    # The confirmation travels in a signed cookie read once: no session row per visitor to purge.
    assert Session.objects.count() == 0


def test_a_forged_or_expired_confirmation_cookie_shows_no_record(client, service, django_capture_on_commit_callbacks):
    _post(client, django_capture_on_commit_callbacks, service=service.pk)
    reclamation = Reclamation.objects.get()
    client.cookies.pop(DONE_COOKIE)

    client.cookies[DONE_COOKIE] = signing.dumps(
        {"reference": reclamation.reference, "token": "x" * 43, "email": "intrus@example.org"}, salt="autre")
    forged = client.get("/contact/merci/").content.decode()
    _post(client, django_capture_on_commit_callbacks, service=service.pk, complainant_email="b@example.org")
    second = Reclamation.objects.get(complainant_email="b@example.org")
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        expired = client.get("/contact/merci/")

    assert reclamation.reference not in forged and "intrus@example.org" not in forged
    assert expired.status_code == 200
    assert second.reference not in expired.content.decode()
    assert "/suivi/" not in expired.content.decode().replace("/suivi/lien-perdu/", "")


def test_a_difficulty_is_registered_as_such(client, service, django_capture_on_commit_callbacks):
    _post(client, django_capture_on_commit_callbacks, service=service.pk, kind="difficulty")
    assert Reclamation.objects.get().kind == "difficulty"


def test_it_refuses_an_incident_which_only_staff_log(client, service, django_capture_on_commit_callbacks):
    response = _post(client, django_capture_on_commit_callbacks, service=service.pk, kind="incident")

    assert "Choisissez « réclamation » ou « difficulté »." in response.content.decode()
    assert_nothing_stored_or_sent()


def test_it_offers_only_active_services_and_requires_one(client, service, django_capture_on_commit_callbacks):
    retired = ServiceFactory(name="Ancien service", active=False)
    html = client.get(CONTACT).content.decode()
    assert "Formation inter-entreprises" in html
    assert "Ancien service" not in html

    for refused in (retired.pk, 999_999, "abc", "1 OR 1=1"):
        response = _post(client, django_capture_on_commit_callbacks, service=refused)
        assert response.status_code == 200
        assert "Choisissez un service de la liste." in response.content.decode()
    response = _post(client, django_capture_on_commit_callbacks)
    assert "Choisissez le service concerné." in response.content.decode()
    assert_nothing_stored_or_sent()


@pytest.mark.django_db(transaction=True)
def test_a_service_deleted_while_the_client_filled_the_form_in_gets_a_message_not_a_500(client):
    # Real commits: the foreign key is checked when the submission commits.
    service = ServiceFactory(name="Formation inter-entreprises")
    client.get(CONTACT)  # the services are now kept in the cache
    with connection.cursor() as cursor:  # deleted by another process, the kept list not yet forgotten
        cursor.execute("DELETE FROM reclamations_service WHERE id = %s", [service.pk])

    response = client.post(CONTACT, contact_form_data(service=service.pk))

    assert response.status_code == 200
    assert "le service choisi vient d&#x27;être retiré" in response.content.decode()
    assert_nothing_stored_or_sent()
    assert "Formation inter-entreprises" not in client.get(CONTACT).content.decode()


def test_a_service_added_or_renamed_shows_on_the_form_at_once(client, service):
    # The blank form's fields are rendered once per process and shape (blank_form_tags): a change
    # of the services is a new shape, never the form an earlier visitor saw.
    # The services themselves are kept between requests, forgotten when one is saved (the admin).
    assert "Formation inter-entreprises" in client.get(CONTACT).content.decode()

    service.name = "Formation intra-entreprise"
    service.save()
    html = client.get(CONTACT).content.decode()
    assert "Formation intra-entreprise" in html
    assert "Formation inter-entreprises" not in html

    ServiceFactory(name="Bilan de compétences")
    assert "Bilan de compétences" in client.get(CONTACT).content.decode()


def test_every_visitor_gets_their_own_timestamp_and_csrf_token_on_the_same_form(service):
    pages = [Client(enforce_csrf_checks=True).get(CONTACT).content.decode() for _ in range(2)]

    started = [re.search(r'name="started" value="([^"]+)"', page).group(1) for page in pages]
    csrf = [re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1) for page in pages]
    assert started[0] != started[1]
    assert csrf[0] != csrf[1]
    # Everything else is the same form.
    assert re.sub(r'value="[^"]+"', "", pages[0]) == re.sub(r'value="[^"]+"', "", pages[1])


def test_without_configured_services_the_question_is_not_asked(client, django_capture_on_commit_callbacks):
    assert not Service.objects.exists()
    assert 'name="service"' not in client.get(CONTACT).content.decode()

    response = _post(client, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert Reclamation.objects.get().service is None


def test_a_double_click_files_the_request_once(client, service, django_capture_on_commit_callbacks):
    data = contact_form_data(service=service.pk)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(CONTACT, data)
        second = client.post(CONTACT, data)

    assert first.status_code == second.status_code == 302
    assert Reclamation.objects.count() == 1


def test_two_clients_shown_the_form_at_the_same_moment_both_file_their_request(client, service,
                                                                            django_capture_on_commit_callbacks):
    shown_at = timezone.now().timestamp() - 60
    with django_capture_on_commit_callbacks(execute=True):
        for email in ("claire.dupont@example.org", "paul.martin@example.org"):
            response = client.post(CONTACT, contact_form_data(service=service.pk, complainant_email=email,
                                                              started=started_token(shown_at)))
            assert response.status_code == 302

    assert sorted(Reclamation.objects.values_list("complainant_email", flat=True)) == [
        "claire.dupont@example.org", "paul.martin@example.org"]


# --- Errors: summarised at the top, shown next to each field -------------------------------------
def test_missing_fields_are_summarised_at_the_top_and_shown_next_to_each_field(client, service,
                                                                               django_capture_on_commit_callbacks):
    response = _post(client, django_capture_on_commit_callbacks, service=service.pk, complainant_name="",
                     complainant_email="", stakeholder_type=None, subject="", description="", consent=None)

    assert response.status_code == 200
    html = response.content.decode()
    summary = html[html.index('id="resume-erreurs"'):html.index("</div>", html.index('id="resume-erreurs"'))]
    for anchor, message in (
        ("#id_stakeholder_type_0", "Indiquez qui vous êtes."),
        ("#id_complainant_name", "Indiquez votre nom et prénom."),
        ("#id_complainant_email", "Indiquez votre adresse électronique."),
        ("#id_subject", "Indiquez l&#x27;objet de votre demande."),
        ("#id_description", "Décrivez votre demande."),
        ("#id_consent", "Cochez cette case"),
    ):
        assert f'href="{anchor}"' in summary, anchor
        assert message in summary, message
    # Next to the field, and announced with it.
    assert 'aria-invalid="true"' in html
    assert re.search(r'aria-describedby="[^"]*id_complainant_name_error', html)
    assert 'id="id_complainant_name_error"' in html
    # What the client typed is kept.
    assert "La convocation est arrivée trop tard" not in html  # description was emptied on purpose
    assert 'value="06 12 34 56 78"' in html
    assert_nothing_stored_or_sent()


def test_files_must_be_chosen_again_after_an_error_and_the_page_says_so(client, service,
                                                                        django_capture_on_commit_callbacks):
    response = _post(client, django_capture_on_commit_callbacks, service=service.pk, subject="",
                     attachments=[upload()])

    assert "sélectionnez-les encore une fois" in response.content.decode()
    assert_nothing_stored_or_sent()


def test_consent_is_required(client, service, django_capture_on_commit_callbacks):
    response = _post(client, django_capture_on_commit_callbacks, service=service.pk, consent=None)

    assert "sans votre accord, nous ne pouvons pas traiter votre demande" in response.content.decode()
    assert_nothing_stored_or_sent()


# --- Robots -------------------------------------------------------------------------------------
def test_a_filled_in_honeypot_stores_nothing_and_sends_nothing(client, service,
                                                               django_capture_on_commit_callbacks):
    response = _post(client, django_capture_on_commit_callbacks, service=service.pk,
                     website="https://spam.example")

    assert response.status_code == 200
    assert "Votre demande n&#x27;a pas pu être envoyée" in response.content.decode()
    assert_nothing_stored_or_sent()


def test_a_form_sent_back_faster_than_the_minimal_time_is_refused(client, service, settings,
                                                                  django_capture_on_commit_callbacks):
    settings.CONTACT_MIN_FILL_SECONDS = 3
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        page = client.get(CONTACT).content.decode()
        started = re.search(r'name="started" value="([^"]+)"', page).group(1)
        traveller.shift(timedelta(seconds=1))
        response = _post(client, django_capture_on_commit_callbacks, service=service.pk, started=started)
        assert "Le formulaire a été envoyé trop rapidement" in response.content.decode()
        assert_nothing_stored_or_sent()
        # The re-shown form keeps the first timestamp: a person who sends it again gets through.
        assert f'name="started" value="{started}"' in response.content.decode()

        traveller.shift(timedelta(seconds=3))
        response = _post(client, django_capture_on_commit_callbacks, service=service.pk, started=started)
    assert response.status_code == 302
    assert Reclamation.objects.count() == 1


@pytest.mark.parametrize("started", ["", "1700000000.0", "tampered:1xUxhd:yZqmBcteOnbydS20p935c8bfB30"])
def test_a_missing_or_forged_timestamp_is_refused(client, service, started, django_capture_on_commit_callbacks):
    response = _post(client, django_capture_on_commit_callbacks, service=service.pk, started=started)

    html = response.content.decode()
    assert "Le formulaire a expiré" in html
    fresh = re.search(r'name="started" value="([^"]+)"', html).group(1)
    assert fresh != started
    assert_nothing_stored_or_sent()


def test_a_form_left_open_for_days_is_refused_and_shown_again_with_a_fresh_timestamp(
        client, service, django_capture_on_commit_callbacks):
    old = started_token((timezone.now() - timedelta(days=3)).timestamp())
    response = _post(client, django_capture_on_commit_callbacks, service=service.pk, started=old)

    assert "Le formulaire a expiré" in response.content.decode()
    assert f'value="{old}"' not in response.content.decode()
    assert_nothing_stored_or_sent()


def test_too_many_submissions_from_one_address_get_a_friendly_429(
    client, service, settings, django_capture_on_commit_callbacks, one_rate_limit_window
):
    settings.CONTACT_RATE_LIMIT = "2/10m"
    for _ in range(2):
        assert _post(client, django_capture_on_commit_callbacks, service=service.pk, started=started_token(
            timezone.now().timestamp() - 60 - _)).status_code == 302
    emails_before = Email.objects.count()

    response = _post(client, django_capture_on_commit_callbacks, service=service.pk)

    assert response.status_code == 429
    assert response["Retry-After"] == "600"
    html = response.content.decode()
    assert "Merci de patienter" in html and "environ 10 minutes" in html
    assert "rien n'a été enregistré ni envoyé" in html
    assert Reclamation.objects.count() == 2
    assert Email.objects.count() == emails_before
    # Another address is not affected; reading the form is never limited.
    assert client.get(CONTACT).status_code == 200
    other = Client(REMOTE_ADDR="203.0.113.9")
    with django_capture_on_commit_callbacks(execute=True):
        assert other.post(CONTACT, contact_form_data(service=service.pk)).status_code == 302


def test_the_default_limit_is_5_per_10_minutes(
    client, service, settings, django_capture_on_commit_callbacks, one_rate_limit_window
):
    assert settings.CONTACT_RATE_LIMIT == "5/10m"
    statuses = [
        _post(client, django_capture_on_commit_callbacks, service=service.pk,
              started=started_token(timezone.now().timestamp() - 60 - i)).status_code
        for i in range(6)
    ]
    assert statuses == [302] * 5 + [429]


# --- Hostile and malformed input: a French message or a 4xx, never a 500 or half a record -------
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"description": "Bonjour\x00<script>"}, "Le caractère nul n’est pas autorisé."),
        ({"complainant_name": "Claire\x00Dupont"}, "Le caractère nul n’est pas autorisé."),
        ({"description": "x" * 1_000_000}, "Ce texte est trop long : 20\u202f000 caractères au maximum."),
        ({"subject": "y" * 301}, "Assurez-vous que cette valeur comporte au plus 300 caractères"),
        ({"complainant_name": "Claire\r\nBcc: victime@example.org"}, "sans retour à la ligne"),
        ({"complainant_email": "claire@example.org\r\nBcc: victime@example.org"}, "sans retour à la ligne"),
        ({"complainant_email": "claire@example.org\nCc: x@example.org"}, "sans retour à la ligne"),
        ({"subject": "Objet\nX-Injected: oui"}, "sans retour à la ligne"),
        ({"complainant_name": "Claire\x1b[31mDupont"}, "Ce champ contient un caractère invisible non autorisé."),
        ({"complainant_email": "pas-une-adresse"}, "Saisissez une adresse électronique valide"),
        ({"complainant_phone": "appelez-moi"}, "Saisissez un numéro de téléphone valide"),
        ({"stakeholder_type": "pirate"}, "Choisissez une des propositions."),
    ],
)
def test_bad_input_gets_a_french_message_and_stores_nothing(client, service, overrides, message,
                                                            django_capture_on_commit_callbacks):
    response = _post(client, django_capture_on_commit_callbacks, service=service.pk, **overrides)

    assert response.status_code == 200
    html = response.content.decode()
    assert message.replace("'", "&#x27;") in html
    assert_nothing_stored_or_sent()


@pytest.mark.parametrize(
    "address", ['"<a>"@example.org', '"claire,dupont"@example.org', '"<c@example.org>"@example.org'])
def test_it_refuses_an_address_our_emails_cannot_go_to_and_keeps_none_of_the_files(
        client, service, settings, address, django_capture_on_commit_callbacks):
    # Valid for Django, but the outbox reads a name out of "<…>" and splits recipients on commas:
    # the acknowledgement could never leave. Refused by the form, before any file is written.
    response = _post(client, django_capture_on_commit_callbacks, service=service.pk, complainant_email=address,
                     attachments=[upload("convocation.pdf"), upload("attestation.pdf")])

    assert response.status_code == 200
    html = response.content.decode()
    assert "Cette adresse électronique ne peut pas recevoir nos courriels" in html
    assert 'id="error_1_id_complainant_email"' in html or 'aria-invalid="true"' in html
    assert "n&#x27;a pas pu être enregistrée" not in html
    assert_nothing_stored_or_sent()
    assert attachment_files(settings) == []


def test_the_lost_link_form_applies_the_same_address_rule(client, django_capture_on_commit_callbacks):
    from reclamations.forms.public import LostLinkForm

    form = LostLinkForm(data={"reference": "R-2026-0001", "email": '"<a>"@example.org'})

    assert not form.is_valid()
    assert "Cette adresse électronique ne peut pas recevoir nos courriels" in str(form.errors["email"])


def test_a_request_body_too_big_gets_the_french_400_page(client, service, settings,
                                                         django_capture_on_commit_callbacks):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    response = _post(client, django_capture_on_commit_callbacks, service=service.pk,
                     description="x" * 150_000, wished_solution="y" * 10)

    assert response.status_code == 400
    assert "Requête invalide" in response.content.decode()
    assert_nothing_stored_or_sent()


def test_a_post_without_csrf_token_gets_a_french_403_and_stores_nothing(service,
                                                                        django_capture_on_commit_callbacks):
    client = Client(enforce_csrf_checks=True)
    response = _post(client, django_capture_on_commit_callbacks, service=service.pk)

    assert response.status_code == 403
    html = response.content.decode()
    assert "Votre formulaire n'a pas pu être envoyé" in html
    assert "Rien n'a été enregistré ni envoyé." in html
    assert_nothing_stored_or_sent()


def test_the_form_works_with_its_csrf_token(service, django_capture_on_commit_callbacks):
    client = Client(enforce_csrf_checks=True)
    page = client.get(CONTACT).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    response = _post(client, django_capture_on_commit_callbacks, service=service.pk, csrfmiddlewaretoken=token)

    assert response.status_code == 302
    assert Reclamation.objects.count() == 1


def test_a_failure_while_storing_leaves_no_half_record(client, service, monkeypatch, settings,
                                                       django_capture_on_commit_callbacks):
    # The acknowledgement's event is the last thing written: if it fails, the record, its file, its
    # events and the acknowledgement go with it.
    from reclamations.services import intake

    real_record_event = intake.record_event

    def broken(**kwargs):
        if kwargs["kind"] == EventKind.EMAIL_QUEUED:
            raise RuntimeError("disque plein")
        return real_record_event(**kwargs)

    monkeypatch.setattr(intake, "record_event", broken)
    client.raise_request_exception = False
    response = _post(client, django_capture_on_commit_callbacks, service=service.pk, attachments=[upload()])

    assert response.status_code == 500
    assert_nothing_stored_or_sent()
    assert Communication.objects.count() == 0
    assert attachment_files(settings) == []


# --- Query count ---------------------------------------------------------------------------------
def test_a_submission_costs_the_same_number_of_queries_however_many_requests_were_filed_before(
        client, service, handler, quality_lead, django_capture_on_commit_callbacks):
    def submit(n):
        with CaptureQueriesContext(connection) as queries:
            response = _post(client, django_capture_on_commit_callbacks, service=service.pk,
                             complainant_email=f"client{n}@example.org")
        assert response.status_code == 302
        return queries.captured_queries

    # The first of the year creates the reference counter (and the configuration, whose creation
    # empties the cache as it commits): what follows is the steady state.
    submit(0)
    submit(1)
    few = submit(2)
    for _ in range(20):
        ReclamationFactory(service=service)

    many = submit(3)

    assert Reclamation.objects.count() == 24
    assert Email.objects.filter(to__contains="client3@example.org").count() == 1
    assert len(many) == len(few), [q["sql"] for q in many]
