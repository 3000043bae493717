"""Storing pièces justificatives, with their event, and taking their files back off the disk when
the transaction that stored them rolls back."""
from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import PurePosixPath

from django.core.files.storage import Storage
from django.db import transaction

from ..journal import record_event
from ..models import Attachment, Communication, EventKind, Reclamation
from ..models.related import ATTACHMENTS_FOLDER, new_attachment_folder
from ..uploads import CheckedUpload
from .base import Actor, check_not_anonymised, check_open, lock

logger = logging.getLogger(__name__)

# The names written inside the innermost ``atomic_with_uploads`` block still open, if any.
_written: ContextVar[list[str] | None] = ContextVar("reclamations_uploads_written", default=None)


def attachment_storage() -> Storage:
    return Attachment._meta.get_field("file").storage


def delete_stored_files(names: Iterable[str]) -> None:
    """Delete files from the private storage, and the attachment folders they leave empty.

    A file already missing is not an error. An attachment folder is removed only once empty (an
    old ``attachments/<id>/`` folder may still hold other files of its record).
    """
    storage = attachment_storage()
    folders: set[str] = set()
    for name in names:
        storage.delete(name)
        parent = str(PurePosixPath(name).parent)
        if parent.startswith(f"{ATTACHMENTS_FOLDER}/"):
            folders.add(parent)
    for folder in folders:
        try:
            os.rmdir(storage.path(folder))
        except NotImplementedError:  # a storage without local paths has no folders to remove
            return
        except OSError:  # not empty (other files of the record) or already gone
            pass


@contextmanager
def atomic_with_uploads() -> Iterator[list[str]]:
    """``transaction.atomic()`` that also deletes the files stored inside it if it rolls back.

    Django runs nothing on rollback, and ``on_commit`` cannot help: a file is written before the
    commit that gives it a row. The block notes every file ``reclamation_add_attachments`` writes;
    on an exception (the commit's own included) or a rollback asked for with ``set_rollback``, it
    deletes them after the rollback. Nested in another such block, a block that succeeds hands its
    files to the outer one, whose commit or rollback decides. Nested only in a plain ``atomic``,
    an outer rollback after this block succeeded leaves its files behind: the periodic check
    (``orphan_files``) finds them. Callers that store files wrap their whole transaction in this.

    Yields the list where the files written in the block are noted.
    """
    outer = _written.get()
    written: list[str] = []
    token = _written.set(written)
    try:
        with transaction.atomic():
            yield written
            rolled_back = transaction.get_rollback()
    except BaseException:
        _discard(written)
        raise
    finally:
        _written.reset(token)
    if rolled_back:
        _discard(written)
    elif outer is not None:
        outer.extend(written)


def _discard(names: list[str]) -> None:
    if not names:
        return
    try:
        delete_stored_files(names)
    except Exception:  # never hide the error that rolled back; the periodic check finds the rest
        logger.exception("%s uploaded file(s) of a rolled-back transaction not deleted", len(names))


def reclamation_add_attachments(
    *,
    reclamation: Reclamation,
    actor: Actor,
    uploads: list[CheckedUpload],
    public: bool = True,
    communication: Communication | None = None,
    label: str | None = None,
) -> list[Attachment]:
    """Store already-checked uploads (``uploads.check_uploads``) under random names, one event each.

    Runs inside the caller's transaction when there is one, so a record and its files are saved
    together or not at all: the files of a call go to a folder of their own, named at random, and
    are deleted again if the transaction rolls back (``atomic_with_uploads``, which the caller's
    transaction should be).
    """
    stored = []
    storage = attachment_storage()
    folder = new_attachment_folder()
    with atomic_with_uploads() as written:
        r = lock(reclamation)
        check_not_anonymised(r)
        check_open(r)
        for upload in uploads:
            attachment = Attachment(
                reclamation=r, communication=communication, original_name=upload.original_name,
                content_type=upload.content_type, size=upload.size, sha256=upload.sha256, public=public,
                uploaded_by=actor if actor is not None and actor.is_authenticated else None,
            )
            name = f"{folder}/{uuid.uuid4().hex}"
            # Noted before writing: a write that fails half-way leaves a partial file to delete.
            written.append(name)
            saved = storage.save(name, upload.file, max_length=Attachment._meta.get_field("file").max_length)
            if saved != name:
                written.append(saved)
            attachment.file = saved  # a name already stored: saving the row writes nothing more
            attachment.save()
            record_event(
                kind=EventKind.ATTACHMENT_ADDED, reclamation=r, actor=actor, label=label, public=public,
                summary=f"Pièce jointe ajoutée : {upload.original_name}",
                data={"attachment": attachment.pk, "name": upload.original_name, "size": upload.size,
                      "content_type": upload.content_type, "sha256": upload.sha256},
            )
            stored.append(attachment)
    return stored
