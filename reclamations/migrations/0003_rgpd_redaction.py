"""RGPD: anonymisation date on records; the audit chain links the digest of each event's text.

Existing events are re-linked in sequence order with the new formula (header + content digest), so
a database created before this migration still verifies. The formula is frozen here on purpose: a
migration must not follow later changes of the model's methods.
"""
from __future__ import annotations

import hashlib
import json
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder
from django.db import migrations, models

GENESIS_HASH = "0" * 64


def _canonical(content: dict) -> str:
    return json.dumps(content, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def relink_chain(apps, schema_editor) -> None:
    Event = apps.get_model("reclamations", "Event")
    AuditChainHead = apps.get_model("reclamations", "AuditChainHead")
    prev_hash = GENESIS_HASH
    last_sequence = 0
    # The historical model has a plain manager, so rows can be rewritten here — and only here.
    for event in Event.objects.order_by("sequence").iterator(chunk_size=2000):
        content_hash = hashlib.sha256(_canonical({"summary": event.summary, "data": event.data}).encode()).hexdigest()
        header = _canonical(
            {
                "sequence": event.sequence,
                "created_at": event.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
                "reclamation": event.reclamation_id,
                "actor": event.actor_id,
                "actor_label": event.actor_label,
                "kind": event.kind,
                "content_hash": content_hash,
                "public": event.public,
            }
        )
        new_hash = hashlib.sha256((prev_hash + header).encode()).hexdigest()
        Event.objects.filter(pk=event.pk).update(content_hash=content_hash, prev_hash=prev_hash, hash=new_hash)
        prev_hash, last_sequence = new_hash, event.sequence
    if last_sequence:
        AuditChainHead.objects.filter(pk=1).update(
            last_sequence=last_sequence, last_hash=prev_hash, verified_at=None, verified_hash=""
        )


class Migration(migrations.Migration):
    dependencies = [
        ("reclamations", "0002_export_job"),
    ]

    operations = [
        migrations.AddField(
            model_name="reclamation",
            name="anonymised_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="anonymisée le"),
        ),
        migrations.AddIndex(
            model_name="reclamation",
            index=models.Index(fields=["anonymised_at", "closed_at"], name="rec_retention"),
        ),
        migrations.AddField(
            model_name="event",
            name="content_hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="event",
            name="redacted_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="texte effacé le"),
        ),
        migrations.RunPython(relink_chain, migrations.RunPython.noop),
    ]
