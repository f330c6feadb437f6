"""Report form, moderators' queue and actions. Thin views: permission → form → service →
commit → redirect; refusals come back as a French message with their 4xx status."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from consult.db import commit, db
from consult.inputs import bounded_int
from consult.models import User
from consult.moderation import forms, load_target, services, visible_to
from consult.moderation.permissions import Permission
from consult.moderation.services import ModerationError
from consult.permissions import permission_required, require
from consult.web import limit, me, refuse, safe_next

bp = Blueprint("moderation", __name__, url_prefix="/moderation")


LIMIT_MESSAGE = _l("Trop de signalements. Réessayez plus tard.")


@bp.route("/signaler/<kind>/<int:target_id>", methods=["GET", "POST"])
@limit("RATELIMIT_REPORT", LIMIT_MESSAGE)
def report(kind: str, target_id: int):
    found = load_target(db.session, kind, target_id)
    if found is None:
        abort(404)
    registered, target = found
    require(Permission.REPORT)
    # Ids are sequential: never confirm, let alone print, what this person may not read.
    if not visible_to(me(), target):
        abort(404)
    back = safe_next(request.values.get("next")) or registered.url(target)
    form = forms.ReportForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.report(
                db.session,
                me(),
                kind,
                target_id,
                form.reason.data,
                form.text.data or "",
            )
            commit()
        except ModerationError as exc:
            db.session.rollback()
            return refuse(exc)
        except IntegrityError:
            return refuse(ModerationError(_("Vous avez déjà signalé ce contenu."), 409))
        flash(_("Merci, votre signalement a été transmis à l'équipe de modération."), "success")
        return redirect(back)
    if request.method == "POST":
        status = 422
    return (
        render_template(
            "moderation/report.html",
            form=form,
            kind=registered,
            target=target,
            target_id=target_id,
            back=back,
        ),
        status,
    )


@bp.route("/")
@permission_required(Permission.MODERATE)
def queue():
    items = services.queue(db.session, me())
    return render_template(
        "moderation/queue.html",
        items=items,
        decision_form=forms.DecisionForm(),
        block_form=forms.BlockForm(),
        can_block=services.can_block(me()),
    )


@bp.route("/masques")
@permission_required(Permission.MODERATE)
def masked():
    """What moderation hid or holds, to undo a decision: « Rétablir » (or « Publier »)."""
    page = bounded_int(request.args.get("page"), 1, maximum=10_000)
    items, total = services.masked(db.session, me(), page)
    pages = max((total + services.MASKED_PAGE_SIZE - 1) // services.MASKED_PAGE_SIZE, 1)
    if page > pages:
        abort(404)
    return render_template(
        "moderation/masked.html",
        items=items,
        total=total,
        page=page,
        pages=pages,
        decision_form=forms.DecisionForm(),
    )


def _decide(kind: str, target_id: int, action: str):
    form = forms.DecisionForm()
    if not form.validate_on_submit():
        return refuse(ModerationError(_("Le motif est trop long ou le formulaire a expiré."), 422))
    moderator = me()
    try:
        if action == "hide":
            services.hide(db.session, moderator, kind, target_id, form.reason.data)
            message = _("Le contenu est masqué ; son auteur voit le motif.")
        elif action == "restore":
            services.restore(db.session, moderator, kind, target_id, form.reason.data)
            message = _("Le contenu est rétabli.")
        else:
            services.approve(db.session, moderator, kind, target_id)
            message = _("Le contenu est publié.")
        commit()
    except ModerationError as exc:
        db.session.rollback()
        return refuse(exc)
    flash(message, "success")
    return redirect(safe_next(request.form.get("next")) or url_for("moderation.queue"))


@bp.route("/<kind>/<int:target_id>/masquer", methods=["POST"])
@permission_required(Permission.MODERATE)
def hide(kind: str, target_id: int):
    return _decide(kind, target_id, "hide")


@bp.route("/<kind>/<int:target_id>/retablir", methods=["POST"])
@permission_required(Permission.MODERATE)
def restore(kind: str, target_id: int):
    return _decide(kind, target_id, "restore")


@bp.route("/<kind>/<int:target_id>/approuver", methods=["POST"])
@permission_required(Permission.MODERATE)
def approve(kind: str, target_id: int):
    return _decide(kind, target_id, "approve")


@bp.route("/utilisateurs/<int:user_id>/bloquer", methods=["POST"])
@permission_required(Permission.MODERATE)
def block_user(user_id: int):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    form = forms.BlockForm()
    if not form.validate_on_submit():
        return refuse(
            ModerationError(_("Indiquez le motif du blocage (500 caractères au plus)."), 422)
        )
    try:
        services.block_user(db.session, me(), user, form.reason.data)
        commit()
    except ModerationError as exc:
        db.session.rollback()
        return refuse(exc)
    flash(_("Le compte %(name)s est bloqué.", name=user.public_name), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("moderation.queue"))
