"""Notifications page, follow button, email settings, one-click unsubscribe, public profiles.
Thin views: permission → form → service → commit → redirect."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape

from consult.db import commit, db
from consult.extensions import csrf
from consult.inputs import bounded_int
from consult.notifications import forms, queries, services
from consult.notifications.models import Delivery, Event
from consult.notifications.permissions import Permission
from consult.notifications.services import NotificationError
from consult.permissions import permission_required, require
from consult.web import limit, me, refuse, safe_next

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
profiles = Blueprint("profiles", __name__, url_prefix="/profils")


# --- Template helpers ----------------------------------------------------------------------------


def unread_for_header() -> int:
    user = me()
    if user is None or not user.is_active:
        return 0
    return services.unread_count(db.session, user)


def follow_state(kind: str, key: object) -> bool:
    return services.is_following(db.session, me(), kind, str(key))


def author_link(user: object) -> Markup:
    """A pseudonym linked to its public profile (plain text for deleted accounts, which have
    none). The profile prefix is built once per request: a page lists hundreds of authors."""
    if user is None:
        return escape(_("Compte supprimé"))
    if getattr(user, "is_deleted", True):
        return escape(user.public_name)
    prefix = g.get("consult_profile_prefix")
    if prefix is None:
        prefix = g.consult_profile_prefix = url_for("profiles.show", slug="x")[:-1]
    return Markup('<a href="{}{}">{}</a>').format(
        prefix, quote(user.pseudonym, safe=""), user.pseudonym
    )


# --- Notifications -------------------------------------------------------------------------------


@bp.route("/")
@permission_required(Permission.READ)
def index():
    user = me()
    page = bounded_int(request.args.get("page"), 1, maximum=10_000)
    rows, has_next = services.page_of(db.session, user, page)
    return render_template(
        "notifications/index.html",
        shown=services.describe_all(db.session, user, rows),
        page=page,
        has_next=has_next,
        unread=services.unread_count(db.session, user),
        action_form=forms.ActionForm(),
    )


def _back() -> str:
    return safe_next(request.form.get("next")) or url_for("notifications.index")


@bp.route("/<int:notification_id>/lue", methods=["POST"])
@permission_required(Permission.READ)
def mark_read(notification_id: int):
    found = services.mine_or_none(db.session, me(), notification_id)
    if found is None:  # someone else's: never confirm it exists
        abort(404)
    require(Permission.READ, found)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    services.mark_read(db.session, found)
    commit()
    return redirect(_back())


@bp.route("/<int:notification_id>/ouvrir", methods=["POST"])
@permission_required(Permission.READ)
def open_one(notification_id: int):
    """Mark read and go to what it is about (the link is a form button: reading changes state)."""
    found = services.mine_or_none(db.session, me(), notification_id)
    if found is None:
        abort(404)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    shown = services.describe(db.session, me(), found)
    services.mark_read(db.session, found)
    commit()
    return redirect(shown.url or url_for("notifications.index"))


@bp.route("/tout-lu", methods=["POST"])
@permission_required(Permission.READ)
def mark_all_read():
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    count = services.mark_all_read(db.session, me())
    commit()
    if count:
        flash(_("Toutes vos notifications sont marquées comme lues."), "success")
    return redirect(_back())


@bp.route("/suivre", methods=["POST"])
@limit("RATELIMIT_FOLLOW")
def follow():
    if not current_user.is_authenticated:
        require(Permission.FOLLOW)  # 401 → login page
    form = forms.FollowForm()
    if not form.validate_on_submit() or form.action.data not in ("follow", "unfollow"):
        return refuse(NotificationError(_("Cette demande n'est pas valide."), 400))
    back = safe_next(form.next.data) or url_for("notifications.index")
    try:
        if form.action.data == "follow":
            require(Permission.FOLLOW)
            services.follow(db.session, me(), form.kind.data, form.key.data)
            message = _("Vous suivez désormais ce contenu.")
        else:
            services.unfollow(db.session, me(), form.kind.data, form.key.data)
            message = _("Vous ne suivez plus ce contenu.")
        commit()
    except NotificationError as exc:
        return refuse(exc)
    flash(message, "success")
    return redirect(back)


# --- Email settings and unsubscribe --------------------------------------------------------------


@bp.route("/preferences", methods=["GET", "POST"])
@permission_required(Permission.READ)
def preferences():
    user = me()
    current = services.preferences(db.session, user)
    form = forms.preferences_form(current, request.form if request.method == "POST" else None)
    if request.method == "GET":
        form.profile_shows_details.data = bool(user.profile_shows_details)
    if form.validate_on_submit():
        choices = {e: Delivery(form[f"event_{e.value}"].data) for e in Event}
        services.set_preferences(db.session, user, choices)
        user.profile_shows_details = bool(form.profile_shows_details.data)
        commit()
        flash(_("Vos préférences sont enregistrées."), "success")
        return redirect(url_for("notifications.preferences"))
    status = 422 if form.errors else 200
    return (
        render_template(
            "notifications/preferences.html",
            form=form,
            events=list(Event),
            can_email=services.may_receive_email(user),
        ),
        status,
    )


UNSUBSCRIBE_INVALID = _l(
    "Ce lien de désabonnement n'est pas valide ou a expiré. Connectez-vous pour choisir vos "
    "courriels dans vos préférences."
)


# RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" to this URL without any cookie or
# form token; the signed token in the URL is the proof, so the CSRF check cannot apply here.
@bp.route("/desabonnement/<token>", methods=["GET", "POST"])
@csrf.exempt
@limit("RATELIMIT_UNSUBSCRIBE")
def unsubscribe(token: str):
    user = services.user_from_unsubscribe_token(db.session, token)
    if user is None:
        return render_template("notifications/unsubscribe.html", invalid=UNSUBSCRIBE_INVALID), 404
    if request.method == "POST":
        services.unsubscribe_all(db.session, user)
        commit()
        return render_template("notifications/unsubscribe.html", done=True)
    return render_template("notifications/unsubscribe.html", token=token)


# --- Public profiles -----------------------------------------------------------------------------


@profiles.route("/<slug>")
def show(slug: str):
    user = queries.user_by_slug(db.session, slug)
    if user is None or user.is_deleted:
        abort(404)
    if slug != user.pseudonym:  # one address per profile: "zoe" leads to "Zoé"
        return redirect(url_for("profiles.show", slug=user.pseudonym), 301)
    page = bounded_int(request.args.get("page"), 1, maximum=1_000)
    items, has_next = queries.profile_items(db.session, user, page)
    details = None
    if user.profile_shows_details:
        from consult.territories import catalog

        acad = catalog().academies.get(user.academie_code or "")
        details = {"audience": user.audience_enum.label, "academie": acad.name if acad else None}
    return render_template(
        "notifications/profile.html",
        person=user,
        items=items,
        page=page,
        has_next=has_next,
        details=details,
    )


def share_url(endpoint: str, **values: object) -> str:
    """The stable permalink of a page, on SITE_URL (never on the Host a client sent)."""
    from consult.web import absolute_url

    return absolute_url(endpoint, **values)
