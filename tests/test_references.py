"""Human references R-YYYY-NNNN: per year, unique, never reused, correct under concurrency."""
from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from reclamations.models import Reclamation
from tests.factories import ReclamationFactory


@pytest.mark.django_db
@pytest.mark.parametrize("returning", [True, False], ids=["update-returning", "older-sqlite"])
def test_references_count_per_year_of_reception(returning, monkeypatch):
    # One UPDATE … RETURNING where the database has it; a locked read then a write on SQLite < 3.35.
    from reclamations.services import records

    monkeypatch.setattr(records, "_update_returning", lambda: returning)
    first = ReclamationFactory()
    second = ReclamationFactory()
    late_2025 = ReclamationFactory(received_at=datetime(2025, 12, 31, 22, 30, tzinfo=UTC))  # 23:30 in Paris

    year = first.received_at.astimezone().year
    assert first.reference == f"R-{year}-0001"
    assert second.reference == f"R-{year}-0002"
    assert late_2025.reference == "R-2025-0001"


@pytest.mark.django_db
def test_a_rolled_back_creation_does_not_burn_or_reuse_a_number():
    first = ReclamationFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        ReclamationFactory()
        raise RuntimeError("the rest of the request failed")
    third = ReclamationFactory()

    number = int(first.reference[-4:])
    assert third.reference.endswith(f"{number + 1:04d}")
    assert Reclamation.objects.filter(reference=third.reference).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_get_distinct_consecutive_references():
    workers, per_worker = 6, 5
    errors: list[BaseException] = []
    barrier = threading.Barrier(workers)

    def create_some() -> None:
        try:
            barrier.wait()
            for _ in range(per_worker):
                ReclamationFactory(service=None)
        except BaseException as exc:  # reported below, with the failing assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create_some) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    numbers = sorted(int(ref[-4:]) for ref in Reclamation.objects.values_list("reference", flat=True))
    assert numbers == list(range(1, workers * per_worker + 1))
