"""The search document of every record (``models.SearchDocument``), filled for the existing records,
and on PostgreSQL its trigram index.

The staff list's search now reads one folded text per record (``reclamations.search``) with
``LIKE '%word%'``; on PostgreSQL a GIN trigram index on that column answers it, as the indexes of
migration 0006 answered the four columns searched before (``pg_trgm`` is created there). Those
stay: the RGPD requests and the admin still search names and e-mail addresses.

The table is new: nobody else writes to it while this runs, so the index is built inside the
migration's transaction, after the fill (faster than keeping it up to date row by row), rather than
``CONCURRENTLY``. The fill reads each record's texts once, by batches of 500.
"""
from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models

INDEX = "search_document_folded_trgm"
TABLE = "reclamations_searchdocument"


def fill(apps, schema_editor) -> None:
    from reclamations.services.search import search_documents_rebuild

    ids = apps.get_model("reclamations", "Reclamation").objects.order_by("pk").values_list("pk", flat=True)
    search_documents_rebuild(ids.iterator(chunk_size=2000), models=apps)


def create_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # On the bare column: Django writes ``contains`` as ``"folded"::text LIKE %s``, and a cast of a
    # text column to text is no cast at all for the planner, so this index matches it.
    schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "{TABLE}" USING gin ("folded" gin_trgm_ops)')


def drop_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):
    dependencies = [
        ("reclamations", "0015_unread_and_handover"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchDocument",
            fields=[
                ("reclamation", models.OneToOneField(
                    on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name="search_document",
                    serialize=False, to="reclamations.reclamation")),
                ("folded", models.TextField(blank=True)),
                ("parts", models.JSONField(blank=True, default=list)),
            ],
            options={
                "verbose_name": "texte de recherche",
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
