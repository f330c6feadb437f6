"""Retex logic: drafting, the review workflow, published versions and attachments.

Functions take the session and never commit; the view commits once. Files written for an
attachment are tracked on the session and removed if the transaction rolls back, so a refused
upload or a failed commit never leaves a file on disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from consult import uploads
from consult.db import utcnow
from consult.models import AuthorSnapshot, User
from consult.notifications import dispatch
from consult.territories import catalog
from consult.text import find_personal_data, plain_text
from consult.web import ConsultError
from retex.models import (
    CONTENT_FIELDS,
    ESTABLISHMENTS,
    LEVEL_LABELS,
    PERIODS,
    SCHOOL_LEVELS,
    TEXT_FIELDS,
    THEMES,
    RetexAttachment,
    RetexReview,
    RetexRevision,
    RetexSheet,
    SheetStatus,
    TerritoryLevel,
    pack,
)


class RetexError(ConsultError):
    """A refusal the view shows in French with the given HTTP status."""


@dataclass(frozen=True)
class Territory:
    level: str
    code: str
    academie_code: str | None
    region_code: str
    name: str


def resolve_territory(value: str | None) -> Territory:
    """ "academie:16" → the territory, checked against the 2020 reference data."""
    level, _sep, code = (value or "").partition(":")
    cat = catalog()
    if level == TerritoryLevel.REGION and code in cat.regions:
        return Territory(level, code, None, code, cat.regions[code].name)
    if level == TerritoryLevel.ACADEMIE and code in cat.academies:
        acad = cat.academies[code]
        return Territory(level, code, code, acad.region_code, acad.name)
    if level == TerritoryLevel.DEPARTEMENT and code in cat.departements:
        dept = cat.departements[code]
        acad = cat.academies[dept.academie_code]
        return Territory(level, code, acad.code, acad.region_code, f"{dept.name} ({code})")
    raise RetexError(_("Territoire inconnu."), 422, "territory")


def territory_name(level: str, code: str) -> str:
    try:
        found = resolve_territory(f"{level}:{code}")
    except RetexError:
        return code
    return f"{LEVEL_LABELS[TerritoryLevel(level)]} : {found.name}"


@dataclass
class SheetData:
    title: str
    territory: str
    establishment: str
    school_level: str
    period: str
    themes: list[str]
    audiences: list[str]
    contact_role: str
    context: str
    actions: str
    tools: str
    results: str
    difficulties: str
    lessons: str
    transferability: str


PUBLIC_TEXT = ("title", "contact_role", *TEXT_FIELDS)


def personal_data_problems(data: SheetData) -> dict[str, str]:
    """Public fields holding an email or a phone number, with the message to show."""
    problems = {}
    for name in PUBLIC_TEXT:
        if find_personal_data(getattr(data, name)):
            problems[name] = _(
                "Retirez les adresses électroniques et numéros de téléphone : la fiche est "
                "publique. Indiquez plutôt une fonction (par exemple « conseiller numérique »)."
            )
    return problems


def _values(data: SheetData) -> dict[str, Any]:
    territory = resolve_territory(data.territory)
    if (
        data.establishment not in ESTABLISHMENTS
        or data.school_level not in SCHOOL_LEVELS
        or data.period not in PERIODS
        or not data.themes
        or any(t not in THEMES for t in data.themes)
    ):
        raise RetexError(_("Valeur inconnue dans le formulaire."), 422)
    problems = personal_data_problems(data)
    if problems:
        field, message = next(iter(problems.items()))
        raise RetexError(message, 422, field)
    return {
        "title": data.title.strip(),
        "territory_level": territory.level,
        "territory_code": territory.code,
        "academie_code": territory.academie_code,
        "region_code": territory.region_code,
        "establishment": data.establishment,
        "school_level": data.school_level,
        "period": data.period,
        "themes": pack(data.themes),
        "audiences": pack(data.audiences),
        "contact_role": data.contact_role.strip(),
        **{name: (getattr(data, name) or "").strip() for name in TEXT_FIELDS},
    }


def create_sheet(session: Session, author: User, data: SheetData) -> RetexSheet:
    sheet = RetexSheet(
        author_id=author.id,
        status=SheetStatus.DRAFT.value,
        **AuthorSnapshot.snapshot_of(author),
        **_values(data),
    )
    session.add(sheet)
    session.flush()
    dispatch(session, "retex", sheet)
    return sheet


def update_sheet(session: Session, sheet: RetexSheet, data: SheetData) -> RetexSheet:
    """Editing a published sheet starts a new draft; the published version stays public until
    the next one is reviewed."""
    for key, value in _values(data).items():
        setattr(sheet, key, value)
    if sheet.status_enum is SheetStatus.PUBLISHED:
        sheet.status = SheetStatus.DRAFT.value
    sheet.updated_at = utcnow()
    session.flush()
    return sheet


def _transition(
    session: Session, sheet: RetexSheet, expected: set[SheetStatus], new: SheetStatus
) -> None:
    # Conditional UPDATE: two reviewers acting at once cannot both move the sheet.
    changed = session.execute(
        update(RetexSheet)
        .where(
            RetexSheet.id == sheet.id,
            RetexSheet.status.in_([s.value for s in expected]),
        )
        .values(status=new.value, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise RetexError(_("Cette fiche a changé d'état entre-temps. Rechargez la page."), 409)
    session.refresh(sheet)


def submit(session: Session, sheet: RetexSheet, actor: User) -> None:
    _transition(session, sheet, {SheetStatus.DRAFT, SheetStatus.RETURNED}, SheetStatus.SUBMITTED)
    sheet.submitted_at = utcnow()
    session.add(RetexReview(sheet_id=sheet.id, actor_id=actor.id, action="submitted"))
    session.flush()


def return_with_comment(session: Session, sheet: RetexSheet, reviewer: User, comment: str) -> None:
    if not comment.strip():
        raise RetexError(_("Expliquez ce qu'il faut revoir."), 422, "comment")
    _transition(session, sheet, {SheetStatus.SUBMITTED}, SheetStatus.RETURNED)
    session.add(
        RetexReview(sheet_id=sheet.id, actor_id=reviewer.id, action="returned", comment=comment)
    )
    session.flush()
    dispatch(session, "retex_review", sheet)


def search_text(content: dict[str, Any]) -> str:
    parts = [content["title"], content["contact_role"]]
    parts += [plain_text(content[name]) for name in TEXT_FIELDS]
    return "\n".join(p for p in parts if p)


def publish(
    session: Session, sheet: RetexSheet, reviewer: User, comment: str = ""
) -> RetexRevision:
    """Only a submitted sheet is published, by a reviewer other than its author (the policy
    checks the territory); the new version is kept alongside all earlier ones."""
    if sheet.author_id == reviewer.id:
        raise RetexError(_("Une fiche ne peut pas être publiée par son auteur."), 403)
    _transition(session, sheet, {SheetStatus.SUBMITTED}, SheetStatus.PUBLISHED)
    version = (
        session.scalar(
            select(func.max(RetexRevision.version)).where(RetexRevision.sheet_id == sheet.id)
        )
        or 0
    ) + 1
    content = sheet.content()
    revision = RetexRevision(
        sheet_id=sheet.id,
        version=version,
        reviewer_id=reviewer.id,
        search_text=search_text(content),
        **content,
    )
    session.add(revision)
    session.add(
        RetexReview(sheet_id=sheet.id, actor_id=reviewer.id, action="published", comment=comment)
    )
    sheet.published_version = version
    for attachment in sheet.attachments:
        attachment.public = True
    session.flush()
    dispatch(session, "retex_review", sheet)
    return revision


# --- Attachments ----------------------------------------------------------------------------


def upload_dir() -> Path:
    return uploads.directory("RETEX_UPLOAD_DIR", "retex-attachments")


def add_attachment(
    session: Session, sheet: RetexSheet, stream: IO[bytes], filename: str, label: str
) -> RetexAttachment:
    """The shared upload rules (consult.uploads): type proven by content, bounded size, file
    removed if the transaction does not commit."""
    if len(sheet.attachments) >= current_app.config["RETEX_MAX_ATTACHMENTS"]:
        raise RetexError(_("Cette fiche a déjà le nombre maximal de pièces jointes."), 409, "file")
    try:
        stored = uploads.store(
            session,
            upload_dir(),
            stream,
            filename,
            current_app.config["RETEX_MAX_ATTACHMENT_BYTES"],
        )
    except uploads.UploadError as exc:
        raise RetexError(exc.message, exc.status, "file") from exc
    attachment = RetexAttachment(
        sheet_id=sheet.id,
        stored_name=stored.stored_name,
        filename=stored.filename,
        label=label.strip(),
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
    )
    session.add(attachment)
    session.flush()
    return attachment


def attachment_path(attachment: RetexAttachment) -> Path:
    return upload_dir() / attachment.stored_name


def delete_attachment(session: Session, attachment: RetexAttachment) -> None:
    # The file goes only once the deletion is committed.
    uploads.remove_after_commit(session, attachment_path(attachment))
    session.delete(attachment)
    session.flush()


# --- Account hooks ---------------------------------------------------------------------------


def personal_data(session: Session, user: User) -> dict[str, Any]:
    sheets = session.scalars(
        select(RetexSheet).where(RetexSheet.author_id == user.id).order_by(RetexSheet.id)
    )
    reviews = session.scalars(
        select(RetexReview).where(RetexReview.actor_id == user.id).order_by(RetexReview.id)
    )
    return {
        "retex_sheets": [
            {
                "id": s.id,
                "status": s.status,
                "published_version": s.published_version,
                "created_at": s.created_at.isoformat(),
                **{k: v for k, v in s.content().items() if k in CONTENT_FIELDS},
                # The files themselves are downloadable from the sheet's page; the export
                # lists what the platform holds.
                "attachments": [
                    {
                        "id": a.id,
                        "filename": a.filename,
                        "label": a.label,
                        "content_type": a.content_type,
                        "size": a.size,
                        "sha256": a.sha256,
                        "public": a.public,
                        "created_at": a.created_at.isoformat(),
                    }
                    for a in s.attachments
                ],
            }
            for s in sheets
        ],
        "retex_reviews": [
            {
                "sheet_id": r.sheet_id,
                "action": r.action,
                "comment": r.comment,
                "created_at": r.created_at.isoformat(),
            }
            for r in reviews
        ],
    }


def erase_account(session: Session, user: User) -> None:
    """Published sheets stay (under « Compte supprimé »); unpublished drafts are the author's
    private work and go with the account, files included."""
    drafts = session.scalars(
        select(RetexSheet).where(RetexSheet.author_id == user.id, RetexSheet.published_version == 0)
    ).all()
    for sheet in drafts:
        # The rows go with the sheet (cascade); the files once the deletion is committed.
        for attachment in sheet.attachments:
            uploads.remove_after_commit(session, attachment_path(attachment))
        session.delete(sheet)
    # A published sheet may carry unpublished work (a new draft, files not yet reviewed): that
    # work is as private as a first draft. The working copy goes back to the public version.
    published = session.scalars(
        select(RetexSheet).where(RetexSheet.author_id == user.id, RetexSheet.is_public)
    ).all()
    for sheet in published:
        for attachment in [a for a in sheet.attachments if not a.public]:
            uploads.remove_after_commit(session, attachment_path(attachment))
            sheet.attachments.remove(attachment)
        revision = session.scalar(
            select(RetexRevision).where(
                RetexRevision.sheet_id == sheet.id,
                RetexRevision.version == sheet.published_version,
            )
        )
        if revision is not None:
            for name, value in revision.content().items():
                setattr(sheet, name, value)
        sheet.status = SheetStatus.PUBLISHED.value
        sheet.submitted_at = None
    session.flush()
