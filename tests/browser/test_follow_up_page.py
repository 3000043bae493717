"""The follow-up page on a phone: the reply box before the messages, a long message folded to its
first lines and read in full with « Lire la suite », without script."""
from __future__ import annotations

from reclamations import services
from tests.browser.test_public_accessibility import assert_no_blocking_violation
from tests.factories import ReclamationFactory

REST = "Nous vous proposons une nouvelle session le 12 mars, aux mêmes conditions."
LONG_ANSWER = "Bonjour Paul,\n\n" + "Nous avons étudié votre demande avec le formateur. " * 8 + f"\n\n{REST}"


def test_it_folds_a_long_message_and_unfolds_it_on_lire_la_suite(phone_page, live_server):
    reclamation = ReclamationFactory()
    services.reclamation_log_communication(
        reclamation=reclamation, actor=None, kind="email", direction="outbound", public=True,
        subject="Réponse à votre demande", body=LONG_ANSWER, purpose="progress")
    page = phone_page
    page.goto(f"{live_server.url}/suivi/{reclamation.token}/")

    reply_box = page.get_by_label("Votre message").bounding_box()
    message = page.get_by_test_id("message").first
    assert reply_box["y"] < message.bounding_box()["y"]
    assert message.get_by_text("Bonjour Paul,").is_visible()
    assert not message.get_by_text(REST).is_visible()

    message.get_by_text("Lire la suite").click()

    assert message.get_by_text(REST).is_visible()
    assert_no_blocking_violation(page)
