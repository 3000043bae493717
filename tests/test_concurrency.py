"""Two handlers completing the same step at the same moment: one wins, nothing is written twice."""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from reclamations import services
from reclamations.models import Event, EventKind, Reclamation
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance, fill_step


@pytest.mark.django_db(transaction=True)
def test_two_handlers_completing_one_step_at_once_complete_it_once(handler, other_handler):
    # Step 2 (step 1 completes by itself once its acknowledgement is recorded).
    reclamation = fill_step(advance(ReclamationFactory(), Step.IDENTIFICATION, handler), handler)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def complete(actor) -> None:
        try:
            barrier.wait()
            seen = Reclamation.objects.get(pk=reclamation.pk)  # both saw the record in step 2
            services.reclamation_complete_step(reclamation=seen, actor=actor, expected_state="identification")
            outcomes.append("ok")
        except services.StaleState as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=complete, args=(user,)) for user in (handler, other_handler)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("ok") == 1
    (refusal,) = [o for o in outcomes if o != "ok"]
    assert "Rechargez la page" in str(refusal)
    reclamation.refresh_from_db()
    assert reclamation.state == "reformulation"  # not pushed on to step 4 by the second click
    assert Event.objects.filter(reclamation=reclamation, kind=EventKind.STEP_COMPLETED, data__step=2).count() == 1
