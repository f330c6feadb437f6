"""The one set of rules for files people upload (Retex sheets, meeting minutes): PDF, PNG or
JPEG proven by their first bytes and matching their extension, bounded in size, stored under
the instance folder (never the web root) with a random name, and tracked on the session so a
refused upload or a failed commit never leaves a file on disk and a deletion removes the file
only once committed.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.utils import secure_filename

from consult.web import ConsultError

FILES_KEY = "consult_new_files"
DOOMED_KEY = "consult_doomed_files"

# Magic bytes → (content type, accepted extensions). The extension must agree with the content.
SIGNATURES = (
    (b"%PDF-", "application/pdf", {".pdf"}),
    (b"\x89PNG\r\n\x1a\n", "image/png", {".png"}),
    (b"\xff\xd8\xff", "image/jpeg", {".jpg", ".jpeg"}),
)
# Served with every stored file: nothing in it may run in the site's origin.
ATTACHMENT_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"


class UploadError(ConsultError):
    """A refused file (French message, HTTP status)."""


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    filename: str
    content_type: str
    size: int
    sha256: str


def directory(config_key: str, default_name: str) -> Path:
    path = Path(
        current_app.config.get(config_key) or Path(current_app.instance_path) / default_name
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def sniff(head: bytes, filename: str) -> str:
    """The content type proven by the first bytes, provided the extension says the same."""
    extension = os.path.splitext(filename.lower())[1]
    for magic, content_type, extensions in SIGNATURES:
        if head.startswith(magic):
            if extension not in extensions:
                break
            return content_type
    raise UploadError(
        _(
            "Seuls les fichiers PDF, PNG et JPEG sont acceptés, avec l'extension qui "
            "correspond à leur contenu."
        ),
        415,
    )


def store(
    session: Session, folder: Path, stream: IO[bytes], filename: str, limit: int
) -> StoredFile:
    """Read at most ``limit`` bytes (one more tells the file is too large), check the type,
    write the file under a random name; removed again if the transaction does not commit."""
    data = stream.read(limit + 1)
    if not data:
        raise UploadError(_("Le fichier est vide."), 422)
    if len(data) > limit:
        raise UploadError(_("Le fichier dépasse %(mb)s Mo.", mb=limit // (1024 * 1024) or 1), 413)
    content_type = sniff(data[:16], filename)
    stored_name = uuid.uuid4().hex
    path = folder / stored_name
    # Registered before writing, so a rollback at any later point removes the file.
    session.info.setdefault(FILES_KEY, []).append(path)
    path.write_bytes(data)
    return StoredFile(
        stored_name=stored_name,
        filename=secure_filename(filename)[-120:] or "piece-jointe",
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def remove_after_commit(session: Session, path: Path) -> None:
    """The file goes only once the deletion of its row is committed."""
    session.info.setdefault(DOOMED_KEY, []).append(path)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(FILES_KEY, None)
    for path in session.info.pop(DOOMED_KEY, []):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: Any) -> None:
    # Runs after after_commit: whatever is still listed was never committed (rollback, close,
    # error), so its files go.
    if transaction.parent is not None:
        return
    session.info.pop(DOOMED_KEY, None)
    for path in session.info.pop(FILES_KEY, []):
        path.unlink(missing_ok=True)
