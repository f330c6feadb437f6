"""Retex pages: public list, sheet, versions, exports; drafting, review and attachments.

Each view is thin: permission → form → service → commit → redirect. Refusals from the services
come back as French messages with their 4xx status, never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from consult import csvout, uploads
from consult.db import commit, db
from consult.permissions import require
from consult.views import render_error
from consult.web import limit, refuse
from retex import forms, queries, services
from retex.models import (
    RetexAttachment,
    RetexRevision,
    RetexSheet,
    unpack,
)
from retex.permissions import Permission
from retex.services import RetexError, SheetData

bp = Blueprint("retex", __name__, url_prefix="/retex")

PER_PAGE = 20
ATTACHMENT_CSP = uploads.ATTACHMENT_CSP


def _sheet_or_404(sheet_id: int) -> RetexSheet:
    sheet = db.session.get(RetexSheet, sheet_id)
    if sheet is None:
        abort(404)
    return sheet


def _filters(form: forms.FilterForm) -> queries.Filters:
    if not form.validate():
        # Unknown filter values (tampered URLs) are ignored rather than trusted.
        return queries.Filters(q=(form.q.data or "")[: forms.QUERY_MAX])
    return queries.Filters(
        q=form.q.data or "",
        territory=form.territory.data or "",
        theme=form.theme.data or "",
        audience=form.audience.data or "",
        level=form.level.data or "",
        period=form.period.data or "",
    )


@bp.route("/")
def index():
    form = forms.FilterForm(request.args)
    filters = _filters(form)
    page = request.args.get("page", 1, type=int) or 1
    if page < 1 or page > 10_000:
        abort(404)
    revisions, total = queries.page_of(db.session, filters, page, PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "retex/index.html",
        form=form,
        revisions=revisions,
        total=total,
        page=page,
        pages=pages,
        args=args,
    )


@bp.route("/<int:sheet_id>")
def show(sheet_id: int):
    sheet = _sheet_or_404(sheet_id)
    if not sheet.is_public:
        # The working copy lives on the follow-up page, for its author and reviewers only.
        if current_user.is_authenticated and _can(Permission.VIEW_WORK, sheet):
            return redirect(url_for("retex.follow", sheet_id=sheet.id))
        abort(404)
    revision = _revision(sheet.id, sheet.published_version)
    attachments = [a for a in sheet.attachments if a.public]
    return render_template(
        "retex/show.html", sheet=sheet, revision=revision, attachments=attachments, old=False
    )


def _revision(sheet_id: int, version: int) -> RetexRevision:
    revision = db.session.scalar(
        select(RetexRevision).where(
            RetexRevision.sheet_id == sheet_id, RetexRevision.version == version
        )
    )
    if revision is None:
        abort(404)
    return revision


def _can(permission: Permission, obj: object) -> bool:
    from consult.permissions import authorize

    return authorize(current_user, permission, obj)


@bp.route("/<int:sheet_id>/versions")
def versions(sheet_id: int):
    sheet = _sheet_or_404(sheet_id)
    if not sheet.is_public:
        abort(404)
    revisions = db.session.scalars(
        select(RetexRevision)
        .where(RetexRevision.sheet_id == sheet.id)
        .order_by(RetexRevision.version.desc())
    ).all()
    return render_template("retex/versions.html", sheet=sheet, revisions=revisions)


@bp.route("/<int:sheet_id>/versions/<int:version>")
def version(sheet_id: int, version: int):
    sheet = _sheet_or_404(sheet_id)
    if not sheet.is_public:
        abort(404)
    revision = _revision(sheet.id, version)
    return render_template(
        "retex/show.html",
        sheet=sheet,
        revision=revision,
        attachments=[],
        old=version != sheet.published_version,
    )


# --- Drafting ---------------------------------------------------------------------------------


def _sheet_data(form: forms.SheetForm) -> SheetData:
    values = {}
    for name in SheetData.__dataclass_fields__:
        empty: list | str = [] if name in {"themes", "audiences"} else ""
        values[name] = form[name].data or empty
    return SheetData(**values)


@bp.route("/nouvelle", methods=["GET", "POST"])
@login_required
@limit("RATELIMIT_RETEX_WRITE")
def new():
    require(Permission.CREATE)
    form = forms.SheetForm()
    if form.validate_on_submit():
        try:
            sheet = services.create_sheet(db.session, current_user, _sheet_data(form))
            commit()
        except RetexError as exc:
            return refuse(exc, form=form, template="retex/edit.html", sheet=None)
        flash(_("Brouillon enregistré. Soumettez-le à relecture quand il est prêt."), "success")
        return redirect(url_for("retex.follow", sheet_id=sheet.id))
    return render_template("retex/edit.html", form=form, sheet=None), _status()


def _status() -> int:
    return 422 if request.method == "POST" else 200


def _form_from(sheet: RetexSheet) -> forms.SheetForm:
    data = sheet.content()
    data["territory"] = f"{sheet.territory_level}:{sheet.territory_code}"
    data["themes"] = unpack(sheet.themes)
    data["audiences"] = unpack(sheet.audiences)
    return forms.SheetForm(data=data)


@bp.route("/<int:sheet_id>/modifier", methods=["GET", "POST"])
@login_required
@limit("RATELIMIT_RETEX_WRITE")
def edit(sheet_id: int):
    sheet = _sheet_or_404(sheet_id)
    require(Permission.EDIT, sheet)
    form = forms.SheetForm() if request.method == "POST" else _form_from(sheet)
    if form.validate_on_submit():
        try:
            services.update_sheet(db.session, sheet, _sheet_data(form))
            commit()
        except RetexError as exc:
            return refuse(exc, form=form, template="retex/edit.html", sheet=sheet)
        flash(_("Fiche enregistrée."), "success")
        return redirect(url_for("retex.follow", sheet_id=sheet.id))
    return render_template("retex/edit.html", form=form, sheet=sheet), _status()


@bp.route("/<int:sheet_id>/suivi")
@login_required
def follow(sheet_id: int):
    sheet = _sheet_or_404(sheet_id)
    require(Permission.VIEW_WORK, sheet)
    return _follow_page(sheet)


def _follow_page(sheet, status: int = 200, comment_form=None, attachment_form=None):
    return render_template(
        "retex/follow.html",
        sheet=sheet,
        action_form=forms.ActionForm(),
        comment_form=comment_form or forms.CommentForm(formdata=None),
        attachment_form=attachment_form or forms.AttachmentForm(formdata=None),
        territory=services.territory_name(sheet.territory_level, sheet.territory_code),
    ), status


def _workflow(sheet_id: int, permission: Permission, action) -> Response:
    sheet = _sheet_or_404(sheet_id)
    require(permission, sheet)
    form = forms.CommentForm() if permission is Permission.REVIEW else forms.ActionForm()
    if not form.validate_on_submit():
        return _follow_page(
            sheet, 422, comment_form=form if permission is Permission.REVIEW else None
        )
    try:
        message = action(sheet, form)
        commit()
    except RetexError as exc:
        db.session.rollback()
        sheet = _sheet_or_404(sheet_id)
        if permission is Permission.REVIEW:
            form.comment.errors = [exc.message]
            return _follow_page(sheet, exc.status, comment_form=form)
        return refuse(exc)
    except IntegrityError:
        return render_error(409, _("Cette fiche vient d'être modifiée par quelqu'un d'autre."))
    flash(message, "success")
    return redirect(url_for("retex.follow", sheet_id=sheet_id))


@bp.route("/<int:sheet_id>/soumettre", methods=["POST"])
@login_required
@limit("RATELIMIT_RETEX_WRITE")
def submit(sheet_id: int):
    def action(sheet, _form):
        services.submit(db.session, sheet, current_user)
        return _("Fiche soumise à la relecture de la coordination territoriale.")

    return _workflow(sheet_id, Permission.SUBMIT, action)


@bp.route("/<int:sheet_id>/renvoyer", methods=["POST"])
@login_required
@limit("RATELIMIT_RETEX_WRITE")
def send_back(sheet_id: int):
    def action(sheet, form):
        services.return_with_comment(db.session, sheet, current_user, form.comment.data or "")
        return _("Fiche renvoyée à son auteur avec votre commentaire.")

    return _workflow(sheet_id, Permission.REVIEW, action)


@bp.route("/<int:sheet_id>/publier", methods=["POST"])
@login_required
@limit("RATELIMIT_RETEX_WRITE")
def publish(sheet_id: int):
    def action(sheet, form):
        revision = services.publish(db.session, sheet, current_user, form.comment.data or "")
        return _("Version %(n)d publiée.", n=revision.version)

    return _workflow(sheet_id, Permission.REVIEW, action)


@bp.route("/mes-fiches")
@login_required
def mine():
    sheets = db.session.scalars(
        select(RetexSheet)
        .where(RetexSheet.author_id == current_user.id)
        .order_by(RetexSheet.updated_at.desc())
    ).all()
    queue = []
    if _can(Permission.REVIEW_QUEUE, None):
        # The SQL narrows to the user's territories; the policy stays the last word.
        queue = [
            s for s in queries.review_queue(db.session, current_user) if _can(Permission.REVIEW, s)
        ]
    return render_template("retex/mine.html", sheets=sheets, queue=queue)


# --- Attachments ----------------------------------------------------------------------------


@bp.route("/<int:sheet_id>/pieces-jointes", methods=["POST"])
@login_required
@limit("RATELIMIT_RETEX_UPLOAD")
def upload(sheet_id: int):
    sheet = _sheet_or_404(sheet_id)
    require(Permission.EDIT, sheet)
    form = forms.AttachmentForm()
    if not form.validate_on_submit():
        return _follow_page(sheet, 422, attachment_form=form)
    upload_file = form.file.data
    try:
        services.add_attachment(
            db.session, sheet, upload_file.stream, upload_file.filename or "", form.label.data or ""
        )
        commit()
    except RetexError as exc:
        db.session.rollback()
        sheet = _sheet_or_404(sheet_id)
        form.file.errors = [exc.message]
        return _follow_page(sheet, exc.status, attachment_form=form)
    flash(_("Pièce jointe ajoutée ; elle sera publique à la prochaine publication."), "success")
    return redirect(url_for("retex.follow", sheet_id=sheet.id))


def _attachment_or_404(attachment_id: int) -> RetexAttachment:
    attachment = db.session.get(RetexAttachment, attachment_id)
    if attachment is None:
        abort(404)
    return attachment


@bp.route("/pieces-jointes/<int:attachment_id>/supprimer", methods=["POST"])
@login_required
@limit("RATELIMIT_RETEX_WRITE")
def delete_attachment(attachment_id: int):
    attachment = _attachment_or_404(attachment_id)
    require(Permission.ATTACHMENT_DELETE, attachment)
    sheet_id = attachment.sheet_id
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    services.delete_attachment(db.session, attachment)
    commit()
    flash(_("Pièce jointe supprimée."), "success")
    return redirect(url_for("retex.follow", sheet_id=sheet_id))


@bp.route("/pieces-jointes/<int:attachment_id>")
def attachment(attachment_id: int):
    attachment = _attachment_or_404(attachment_id)
    if not _can(Permission.ATTACHMENT_VIEW, attachment):
        abort(404)  # an unpublished file does not exist for the public
    path = services.attachment_path(attachment)
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        max_age=0 if not attachment.public else 3600,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = ATTACHMENT_CSP
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if not attachment.public:
        response.headers["Cache-Control"] = "private, no-store"
    return response


# --- Exports ------------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "id",
    "version",
    "published_at",
    "title",
    "territory_level",
    "territory_code",
    "academie_code",
    "region_code",
    "establishment",
    "school_level",
    "period",
    "themes",
    "audiences",
    "contact_role",
    "context",
    "actions",
    "tools",
    "results",
    "difficulties",
    "lessons",
    "transferability",
    "url",
)


def export_row(revision: RetexRevision) -> dict:
    row = {name: getattr(revision, name) for name in EXPORT_COLUMNS[3:-1]}
    row["themes"] = unpack(revision.themes)
    row["audiences"] = unpack(revision.audiences)
    return {
        "id": revision.sheet_id,
        "version": revision.version,
        "published_at": csvout.iso(revision.published_at),
        **row,
        "url": url_for("retex.show", sheet_id=revision.sheet_id, _external=True),
    }


@bp.route("/export.csv")
def export_csv():
    filters = _filters(forms.FilterForm(request.args))

    def rows() -> Iterator[list]:
        for revision in queries.stream(db.session, filters):
            row = export_row(revision)
            row["themes"] = "|".join(row["themes"])
            row["audiences"] = "|".join(row["audiences"])
            yield [row[c] for c in EXPORT_COLUMNS]

    return csvout.response(
        csvout.stream(EXPORT_COLUMNS, rows(), csvout.separator(request.args)), "retex.csv"
    )


@bp.route("/export.json")
def export_json():
    filters = _filters(forms.FilterForm(request.args))

    def generate() -> Iterator[str]:
        yield "["
        first = True
        for revision in queries.stream(db.session, filters):
            yield (
                ("" if first else ",") + "\n" + json.dumps(export_row(revision), ensure_ascii=False)
            )
            first = False
        yield "\n]\n"

    return Response(
        stream_with_context(generate()),
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="retex.json"'},
    )
