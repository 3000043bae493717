"""``bench/dataset.py``: the benchmarks' clones of the demo records must leave a journal that verifies.

The evidence-pack benchmark measures a pack over these clones; if their journal did not verify,
the dataset builder stops (and a pack built anyway would print a broken chain, not the real work).
"""
from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from bench import dataset
from reclamations.journal import verify_chain
from reclamations.models import Event, JournalChainHead, Reclamation


@pytest.fixture
def demo(db: None) -> list[Reclamation]:
    call_command("seed_demo", password="banc-d-essai-2026", stdout=StringIO())
    return list(Reclamation.objects.order_by("pk"))


def test_it_clones_every_demo_record_with_a_journal_that_verifies(demo: list[Reclamation]) -> None:
    before = Event.objects.count()

    def plan(index: int):  # each template once, received some weeks earlier than its own
        template = demo[index % len(demo)]
        return template, timezone.localtime(template.received_at).date() - timedelta(days=20 + index)

    written = dataset.clone_records(len(demo), plan=plan, batch_size=7)

    assert written > 0
    assert Event.objects.count() == before + written
    assert Reclamation.objects.count() == 2 * len(demo)
    report = verify_chain()
    assert report.intact, report.message
    assert report.checked == before + written
    # The clones' logged facts (moved dates, decisions, steps) are checked too, not skipped.
    assert report.facts_records > len(demo)
    head = JournalChainHead.objects.get(pk=1)
    assert head.last_sequence == before + written


def test_it_refuses_to_clone_under_another_chaining_key(demo: list[Reclamation], settings) -> None:
    # The demo's events were linked with the tests' key: links made with another one would not verify.
    settings.JOURNAL_KEY = "une-autre-cle"

    with pytest.raises(RuntimeError):
        dataset.clone_records(1, plan=lambda _i: (demo[0], timezone.localtime(demo[0].received_at).date()))

    assert Reclamation.objects.count() == len(demo)


def test_each_throwaway_database_has_its_own_checkpoint_file() -> None:
    # Each pack appends its head to the checkpoint file: shared, it would break every other database's check.
    first = dataset.environment(f"sqlite:///{dataset.DATA_DIR / 'pack-50.sqlite3'}")["JOURNAL_CHECKPOINT_FILE"]
    second = dataset.environment(f"sqlite:///{dataset.DATA_DIR / 'pack-1000.sqlite3'}")["JOURNAL_CHECKPOINT_FILE"]
    postgres = dataset.environment("postgres://postgres@127.0.0.1:5432/reclamations_bench_pack50")

    assert len({first, second, postgres["JOURNAL_CHECKPOINT_FILE"]}) == 3
    assert postgres["JOURNAL_CHECKPOINT_FILE"].endswith("reclamations_bench_pack50.checkpoints.jsonl")
