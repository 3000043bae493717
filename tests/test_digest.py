"""The internal digest (communication en interne): its content, frozen when sent, e-mailed to every
staff member once, and each one's acknowledgement (from the e-mail link or the back-office)."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from celery.schedules import crontab
from django.conf import settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from config.celery import app as celery_app
from reclamations import services
from reclamations.models import Digest, DigestReceipt, Event, EventKind
from reclamations.services import digest as digests
from reclamations.statistics import Period
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, ServiceFactory, UserFactory, advance

pytestmark = pytest.mark.django_db

MARCH = Period(start=date(2026, 3, 1), end=date(2026, 3, 31))
SENT_AT = datetime(2026, 4, 1, 5, 0, tzinfo=UTC)  # 1 April, 07:00 in Paris
READ_LINK = re.compile(r"/backoffice/qualite/bilans/lu/([A-Za-z0-9_-]+)/")


@pytest.fixture
def team(handler, quality_lead):
    """Two staff members with an address, one without; accounts that must not receive it."""
    no_address = UserFactory(role="handler", username="sans.adresse", email="", first_name="Sam",
                                     last_name="Sansmail")
    UserFactory(role="handler", username="parti", is_active=False)
    UserFactory(username="client", is_staff=False)
    return {"handler": handler, "quality_lead": quality_lead, "no_address": no_address}


@pytest.fixture
def march(handler):
    """March 2026: a complaint closed in March with its root cause, a difficulty still open, and an
    improvement action; the same service twice (a recurrence)."""
    service = ServiceFactory(name="Formation SST")
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False):
        closed = advance(ReclamationFactory(service=service), Step.CLOSED, handler)
    with time_machine.travel(datetime(2026, 3, 20, 9, 0, tzinfo=UTC), tick=False):
        ReclamationFactory(kind="difficulty", service=service)
        services.improvement_create(actor=handler, origin="records", title="Automatiser les convocations",
                                    description="Envoi automatique.", owner=handler, due_date=date(2026, 3, 25),
                                    reclamations=[closed])
    return closed


def _send(capture, period: Period = MARCH, at: datetime = SENT_AT):
    with time_machine.travel(at, tick=False), capture(execute=True):
        return services.digest_send(period=period)


def _digest_mails():
    return [m for m in mail.outbox if m.subject.startswith("Bilan des réclamations")]


# --- Content and sending -------------------------------------------------------------------------
def test_the_digest_goes_to_every_staff_member_with_their_own_link(team, march, django_capture_on_commit_callbacks):
    result = _send(django_capture_on_commit_callbacks)

    assert result.created
    messages = _digest_mails()
    assert sorted(m.to[0] for m in messages) == ["gestionnaire@example.org", "qualite@example.org"]
    assert messages[0].subject == ("Bilan des réclamations du 01/03/2026 au 31/03/2026 — "
                                   "merci d'en confirmer la lecture")
    links = {READ_LINK.search(m.body).group(1) for m in messages}
    assert len(links) == 2  # one personal link each
    receipts = DigestReceipt.objects.filter(digest=result.digest)
    assert {r.user.username for r in receipts} == {"gestionnaire", "qualite", "sans.adresse"}
    assert receipts.get(user=team["no_address"]).sent_at is None
    assert receipts.get(user=team["handler"]).sent_at == SENT_AT
    event = Event.objects.get(kind=EventKind.DIGEST)
    assert event.reclamation is None
    assert event.summary == ("Bilan interne du 01/03/2026 au 31/03/2026 envoyé à 2 membres de l'équipe ; "
                             "sans adresse électronique (à lire dans le back-office) : Sam Sansmail.")


def test_the_digest_says_what_happened_in_the_month(team, march, django_capture_on_commit_callbacks):
    content = _send(django_capture_on_commit_callbacks).digest.content

    assert content["new"]["total"] == 2
    assert {b["label"]: b["count"] for b in content["new"]["by_kind"]} == {
        "Réclamation": 1, "Difficulté": 1, "Aléa": 0}
    assert content["closed"] == {"total": 1, "discarded": 0}
    assert content["open_at_end"] == 1
    # The difficulty of 20 March was never acknowledged: late by 1 April.
    assert content["on_time"]["ack"] == {"on_time": 1, "measured": 2, "late": 1, "pending": 0, "percent": 50.0}
    assert content["on_time"]["answer"]["on_time"] == 1
    assert content["root_causes"] == [{"label": "Organisation / logistique", "count": 1}]
    assert content["satisfaction"] == {"answers": 1, "no_answer": 0, "average": 4.0}
    assert content["improvements"]["created_total"] == 1 and content["improvements"]["overdue_total"] == 1
    assert content["improvements"]["open"][0]["title"] == "Automatiser les convocations"
    assert content["recurrences"][0]["label"] == "Formation SST"
    body = next(m for m in _digest_mails() if m.to == ["gestionnaire@example.org"]).body
    assert "Nouvelles demandes : 2 (réclamation : 1) (difficulté : 1)" in body
    assert "Accusés de réception dans le délai : 50 % (1/2)" in body
    assert "- Automatiser les convocations — Camille Martin, échéance 25/03/2026 (en retard)" in body
    assert "Service « Formation SST »" in body


def test_sending_the_same_period_twice_sends_nothing_twice(team, march, django_capture_on_commit_callbacks):
    first = _send(django_capture_on_commit_callbacks)
    frozen = dict(first.digest.content)
    ReclamationFactory()  # later data never changes what was sent

    again = _send(django_capture_on_commit_callbacks, at=SENT_AT + timedelta(hours=2))

    assert not again.created and again.recipients == [] and again.digest == first.digest
    assert len(_digest_mails()) == 2
    assert Digest.objects.get().content == frozen
    assert Event.objects.filter(kind=EventKind.DIGEST).count() == 1
    newcomer = UserFactory(role="handler", username="nouveau", first_name="Noa", last_name="Nouveau")
    third = _send(django_capture_on_commit_callbacks, at=SENT_AT + timedelta(days=1))
    assert third.recipients == ["Noa Nouveau"]  # only who had no copy yet
    assert _digest_mails()[-1].to == [newcomer.email]


def test_a_period_that_is_not_over_is_refused(team):
    with time_machine.travel(datetime(2026, 3, 31, 12, 0, tzinfo=UTC), tick=False), pytest.raises(
        services.WorkflowError, match="période terminée"
    ):
        services.digest_send(period=MARCH)
    assert Digest.objects.count() == 0


# --- Acknowledgements ----------------------------------------------------------------------------
@pytest.fixture
def sent(team, march, django_capture_on_commit_callbacks):
    result = _send(django_capture_on_commit_callbacks)
    links = {m.to[0]: READ_LINK.search(m.body).group(0) for m in _digest_mails()}
    return result.digest, links


def test_one_click_from_the_email_acknowledges_the_reading(sent, team, login):
    digest, links = sent
    client = login(team["handler"])
    read_at = SENT_AT + timedelta(days=2)

    with time_machine.travel(read_at, tick=False):
        response = client.get(links["gestionnaire@example.org"])
        again = client.get(links["gestionnaire@example.org"], follow=True)

    assert response.status_code == 302 and response["Location"] == f"/backoffice/qualite/bilans/{digest.pk}/"
    assert response["Referrer-Policy"] == "no-referrer" and "no-store" in response["Cache-Control"]
    receipt = DigestReceipt.objects.get(digest=digest, user=team["handler"])
    assert receipt.acknowledged_at == read_at
    assert "Votre lecture de ce bilan était déjà enregistrée." in again.content.decode()
    (event,) = Event.objects.filter(kind=EventKind.DIGEST, actor=team["handler"])
    assert event.summary == ("Lecture du bilan interne du 01/03/2026 au 31/03/2026 confirmée par "
                             "Camille Martin.")


def test_someone_elses_link_does_not_acknowledge(sent, team, login, client):
    _digest, links = sent
    link = links["gestionnaire@example.org"]

    other = login(team["quality_lead"]).get(link)
    anonymous = client.get(link)
    unknown = login(team["handler"]).get("/backoffice/qualite/bilans/lu/" + "x" * 43 + "/")

    assert other.status_code == 403 and "envoyé à un autre membre de l&#x27;équipe" in other.content.decode()
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/backoffice/connexion/?next=")
    assert unknown.status_code == 404
    assert not DigestReceipt.objects.filter(acknowledged_at__isnull=False).exists()


def test_a_staff_member_acknowledges_from_the_back_office(sent, team, login):
    digest, _links = sent
    client = login(team["no_address"])

    page = client.get(reverse("quality:digests")).content.decode()
    assert "J'ai lu ce bilan" in page
    response = client.post(reverse("quality:digest_acknowledge", args=[digest.pk]))

    assert response.status_code == 302
    assert DigestReceipt.objects.get(digest=digest, user=team["no_address"]).acknowledged_at is not None


def test_the_quality_lead_sees_who_acknowledged_and_when(sent, team, login):
    digest, links = sent
    with time_machine.travel(datetime(2026, 4, 2, 8, 30, tzinfo=UTC), tick=False):
        login(team["handler"]).get(links["gestionnaire@example.org"])

    page = login(team["quality_lead"]).get(reverse("quality:digest_detail", args=[digest.pk])).content.decode()
    handler_page = login(team["handler"]).get(reverse("quality:digest_detail", args=[digest.pk])).content.decode()

    assert re.search(r"<td>Camille Martin</td>\s*<td>01/04/2026 07:00</td>\s*<td>02/04/2026 10:30</td>", page)
    assert re.search(r"<td>Sam Sansmail</td>\s*<td><span[^>]*>pas d'adresse électronique</span></td>", page)
    assert "Destinataires et lectures" not in handler_page  # the list is the quality lead's
    assert "Lecture confirmée le 02/04/2026 à 10:30" in handler_page
    listing = login(team["quality_lead"]).get(reverse("quality:digests")).content.decode()
    assert "1 / 3" in listing


def test_the_acknowledgements_are_available_for_the_evidence_pack(sent, team):
    DigestReceipt.objects.filter(user=team["handler"]).update(acknowledged_at=SENT_AT)

    rows = list(digests.acknowledgements(start=date(2026, 1, 1), end=date(2026, 12, 31)))

    assert [(r.user.username, r.acknowledged_at) for r in rows] == [  # by name: Bernard, Martin, Sansmail
        ("qualite", None), ("gestionnaire", SENT_AT), ("sans.adresse", None)]


# --- Sending it: the quality lead, the command, beat ---------------------------------------------
def test_the_quality_lead_sends_a_digest_from_the_back_office(team, login, django_capture_on_commit_callbacks):
    client = login(team["quality_lead"])
    with time_machine.travel(SENT_AT, tick=False), django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("quality:digest_send"), {"send-start": "2026-03-01", "send-end": "2026-03-31"})
        refused = client.post(reverse("quality:digest_send"), {"send-start": "2026-04-01", "send-end": "2026-04-30"})

    assert response.status_code == 302
    assert Digest.objects.get().period_end == date(2026, 3, 31)
    assert "Le bilan porte sur une période terminée" in refused.content.decode()
    assert login(team["handler"]).post(reverse("quality:digest_send"), {}).status_code == 403


def test_the_command_sends_the_previous_month_by_default(team):
    out = StringIO()
    with time_machine.travel(datetime(2026, 4, 15, 9, 0, tzinfo=UTC), tick=False):
        call_command("send_digest", stdout=out)
        call_command("send_digest", "--start", "2026-01-01", "--end", "2026-01-31", stdout=StringIO())
        with pytest.raises(CommandError, match="ensemble"):
            call_command("send_digest", "--start", "2026-01-01")

    assert "Bilan du 01/03/2026 au 31/03/2026 (créé) : 2 envoi(s)." in out.getvalue()
    assert "Sans adresse électronique (à lire dans le back-office) : Sam Sansmail" in out.getvalue()
    assert sorted((d.period_start, d.period_end) for d in Digest.objects.all()) == [
        (date(2026, 1, 1), date(2026, 1, 31)), (date(2026, 3, 1), date(2026, 3, 31))]


def test_beat_sends_the_previous_months_digest_on_the_first_at_seven(team):
    entry = settings.CELERY_BEAT_SCHEDULE["monthly-digest"]
    assert entry["schedule"] == crontab(minute=0, hour=7, day_of_month=1)
    task = celery_app.tasks[entry["task"]]

    with time_machine.travel(SENT_AT, tick=False):
        task.delay()
        task.delay()  # a second delivery of the same run

    digest = Digest.objects.get()
    assert (digest.period_start, digest.period_end) == (date(2026, 3, 1), date(2026, 3, 31))
    assert digest.receipts.count() == 3


def test_a_signed_out_reader_signs_in_and_the_reading_is_recorded_without_the_token_in_any_address(
    sent, team, client
):
    digest, links = sent
    link = links["gestionnaire@example.org"]
    token = link.rstrip("/").rsplit("/", 1)[1]

    asked = client.get(link)
    assert asked.status_code == 302
    assert asked["Location"] == "/backoffice/connexion/?next=/backoffice/qualite/bilans/lu/"
    login_page = client.get(asked["Location"])
    assert token not in login_page.content.decode()

    signed_in = client.post(asked["Location"], {"username": "gestionnaire", "password": "mot-de-passe-solide-42",
                                                "next": "/backoffice/qualite/bilans/lu/"}, follow=True)

    assert [url for url, _status in signed_in.redirect_chain] == [
        "/backoffice/qualite/bilans/lu/", f"/backoffice/qualite/bilans/{digest.pk}/"]
    assert "Merci : votre lecture du bilan est enregistrée." in signed_in.content.decode()
    assert DigestReceipt.objects.get(digest=digest, user=team["handler"]).acknowledged_at is not None
    # Used once: the address alone, opened again, leads to the list.
    again = client.get("/backoffice/qualite/bilans/lu/")
    assert again["Location"] == "/backoffice/qualite/bilans/"
