"""Administration: role grants and the audit log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from consult.accounts import services
from consult.accounts.services import AccountError
from consult.admin.forms import GrantForm
from consult.db import commit, db
from consult.inputs import bounded_int
from consult.models import AuditEvent, RoleGrant, User
from consult.permissions import Permission, permission_required
from consult.security import fold

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_SIZE = 50


@bp.route("/", methods=["GET"])
@permission_required(Permission.ADMIN_ACCESS)
def index():
    return _index_with(GrantForm(), 200)


@bp.route("/roles", methods=["POST"])
@permission_required(Permission.ROLE_GRANT)
def grant():
    form = GrantForm()
    if not form.validate_on_submit():
        return _index_with(form, 422)
    user = db.session.scalar(select(User).where(User.pseudonym_key == fold(form.pseudonym.data)))
    if user is None or not user.is_active:
        form.pseudonym.errors.append(_("Aucun compte actif ne porte ce pseudonyme."))
        return _index_with(form, 404)
    kind, _sep, code = (form.scope.data or "national:").partition(":")
    try:
        services.grant_role(db.session, user, form.role.data, kind, code, current_user)
        commit()
    except AccountError as exc:
        db.session.rollback()
        form.scope.errors.append(exc.message)
        return _index_with(form, 422)
    flash(_("Rôle attribué à %(name)s.", name=user.pseudonym), "success")
    return redirect(url_for("admin.index"))


@bp.route("/roles/<int:grant_id>/retirer", methods=["POST"])
@permission_required(Permission.ROLE_GRANT)
def revoke(grant_id: int):
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    grant = db.session.get(RoleGrant, grant_id)
    if grant is None:
        abort(404)
    if grant.user_id == current_user.id and grant.role == "admin":
        flash(_("Vous ne pouvez pas retirer votre propre rôle d'administrateur."), "error")
        return redirect(url_for("admin.index")), 303
    services.revoke_role(db.session, grant, current_user)
    commit()
    flash(_("Rôle retiré."), "success")
    return redirect(url_for("admin.index"))


def _index_with(form: GrantForm, status: int):
    grants = db.session.execute(
        select(RoleGrant, User)
        .join(User, RoleGrant.user_id == User.id)
        .order_by(RoleGrant.role, User.pseudonym_key)
    ).all()
    users_by_audience = dict(
        db.session.execute(
            select(User.audience, func.count())
            .where(User.deleted_at.is_(None))
            .group_by(User.audience)
        ).all()
    )
    return (
        render_template(
            "admin/index.html",
            grants=grants,
            form=form,
            revoke_form=FlaskForm(),
            users_by_audience=users_by_audience,
        ),
        status,
    )


@bp.route("/journal")
@permission_required(Permission.AUDIT_VIEW)
def journal():
    before = bounded_int(request.args.get("avant"), 0)
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1)
    if before:
        stmt = stmt.where(AuditEvent.id < before)
    events = list(db.session.scalars(stmt))
    more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    actor_ids = {e.actor_id for e in events if e.actor_id}
    actors = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actor_ids)))}
        if actor_ids
        else {}
    )
    return render_template(
        "admin/journal.html",
        events=events,
        actors=actors,
        next_before=events[-1].id if more and events else None,
    )
