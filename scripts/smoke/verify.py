"""What the smoke test asserts, as pure functions over what it collected: the clients' results, the
messages the SMTP server received and a snapshot of the database. Each returns its findings, one
line each; an empty list means the check passed.
"""
from __future__ import annotations

from collections import Counter

from .clients import Submission
from .database import Snapshot
from .smtp_sink import Received

MAX_LISTED = 5  # findings name a few examples, not hundreds


def _some(items: list[str] | set[str]) -> str:
    items = sorted(items)
    more = f" (+{len(items) - MAX_LISTED} more)" if len(items) > MAX_LISTED else ""
    return ", ".join(items[:MAX_LISTED]) + more


def check_submissions(submissions: list[Submission], expected: int) -> list[str]:
    findings = []
    failed = [s for s in submissions if s.error]
    if failed:
        findings.append(f"{len(failed)} submission(s) failed, e.g. {failed[0].error}")
    if len(submissions) != expected:
        findings.append(f"{len(submissions)} submissions made, {expected} expected")
    references = Counter(s.reference for s in submissions if s.reference)
    repeated = {ref for ref, n in references.items() if n > 1}
    if repeated:
        findings.append(f"the confirmation page showed the same reference to several clients: {_some(repeated)}")
    return findings


def check_records(snapshot: Snapshot, submissions: list[Submission], expected: int) -> list[str]:
    findings = []
    records = snapshot.records
    if len(records) != expected:
        findings.append(f"{len(records)} records in the database, {expected} expected")
    references = Counter(r.reference for r in records)
    repeated = {ref for ref, n in references.items() if n > 1}
    if repeated:
        findings.append(f"references used by more than one record: {_some(repeated)}")
    seen = {s.reference: s.email for s in submissions if s.reference}
    stored = {r.reference: r.email for r in records}
    if missing := set(seen) - set(stored):
        findings.append(f"references shown to clients but not stored: {_some(missing)}")
    if unknown := set(stored) - set(seen):
        findings.append(f"records no client was told about: {_some(unknown)}")
    if wrong := {ref for ref in set(seen) & set(stored) if seen[ref] != stored[ref]}:
        findings.append(f"records whose e-mail address is not the one their client typed: {_some(wrong)}")
    if unacknowledged := {r.reference for r in records if r.acknowledged_at is None}:
        findings.append(f"{len(unacknowledged)} record(s) without acknowledged_at: {_some(unacknowledged)}")
    return findings


def check_outbox(snapshot: Snapshot, expected_emails: int) -> list[str]:
    findings = []
    total = sum(snapshot.email_status.values())
    if total != expected_emails:
        findings.append(f"{total} e-mails in the outbox, {expected_emails} expected")
    if snapshot.email_status.get("failed"):
        findings.append(f"{snapshot.email_status['failed']} e-mail(s) in failed state")
    if snapshot.unsent:
        findings.append(f"e-mails not sent: {dict(snapshot.email_status)}")
    twice = [email_id for email_id, n in snapshot.sent_logs_per_email.items() if n > 1]
    if twice:
        findings.append(f"{len(twice)} e-mail(s) logged as sent more than once: {_some({str(i) for i in twice})}")
    return findings


def check_delivery(messages: list[Received], submissions: list[Submission], staff_email: str) -> list[str]:
    """Every acknowledgement reached its client once, every staff notice reached staff once, and
    nothing else was delivered."""
    findings = []
    clients = {s.reference: s for s in submissions if s.reference}
    acks: Counter[str] = Counter()
    notices: Counter[str] = Counter()
    strays = []
    for message in messages:
        client = clients.get(message.reference)
        if client is None:
            strays.append(message.reference or message.subject)
        elif message.recipients == (client.email,):
            acks[message.reference] += 1
            if client.follow_up_url not in message.text:
                findings.append(f"acknowledgement of {message.reference} lacks the follow-up link its client saw")
        elif message.recipients == (staff_email,):
            notices[message.reference] += 1
        else:
            strays.append(f"{message.reference} to {', '.join(message.recipients)}")
    for label, counts in (("acknowledgement", acks), ("staff notice", notices)):
        if missing := set(clients) - set(counts):
            findings.append(f"{len(missing)} {label}(s) never received: {_some(missing)}")
        if twice := {ref for ref, n in counts.items() if n > 1}:
            findings.append(f"{len(twice)} {label}(s) received more than once: {_some(twice)}")
    if strays:
        findings.append(f"{len(strays)} unexpected message(s): {_some(set(strays))}")
    ids = Counter(m.message_id for m in messages)
    if duplicated := {mid for mid, n in ids.items() if n > 1}:
        findings.append(f"Message-IDs received more than once: {_some(duplicated)}")
    return findings[:20]
