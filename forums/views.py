"""Forum pages. Thin views: permission → form → service → commit → redirect. Every action works
as a plain form POST followed by a redirect back; the optional script sends the same POSTs with
``Accept: application/json`` and updates the page in place."""

from __future__ import annotations

import functools
import secrets
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defaultload, lazyload

from consult import skeleton
from consult.db import commit, db
from consult.inputs import bounded_int
from consult.permissions import authorize, may_participate, require
from consult.text import PersonalDataNotConfirmed
from consult.web import limit, me, refuse, safe_next, wants_json
from forums import forms, queries, services
from forums.models import Comment, Contribution, Polarity, Theme
from forums.permissions import Permission, is_moderator
from forums.services import ForumError

bp = Blueprint("forums", __name__, url_prefix="/forums")


LIMIT_MESSAGE = _l("Trop d'actions en peu de temps. Réessayez dans quelques minutes.")


def _conflict():
    return refuse(ForumError(_("Cette action vient déjà d'être enregistrée."), 409))


def _theme_or_404(slug: str):
    theme = queries.theme_by_slug(db.session, slug)
    if theme is None:
        abort(404)
    return theme


VOTE_LOAD = (
    lazyload(Contribution.author),
    lazyload(Contribution.subtheme),
    defaultload(Contribution.theme).lazyload(Theme.subthemes),
)


@functools.cache
def _vote_target() -> Any:
    # Built once: its loader options made building the query and its cache key a good part of
    # a vote's time.
    return (
        select(Contribution)
        .options(*VOTE_LOAD)
        .where(Contribution.id == bindparam("contribution_id"))
    )


def _contribution_or_404(contribution_id: int) -> Contribution:
    contribution = db.session.get(Contribution, contribution_id)
    if contribution is None or not authorize(current_user, Permission.VIEW, contribution):
        abort(404)
    return contribution


def _seed() -> int:
    # The "random" order must not reshuffle between pages: its seed travels in the page links
    # (?graine=), drawn on the first page. It used to live in the session, which opened one (and
    # sent a cookie) for every visitor who chose this order.
    seed = bounded_int(request.args.get("graine"), -1, minimum=0, maximum=services.SHUFFLE_RANGE)
    return seed if seed >= 0 else secrets.randbelow(services.SHUFFLE_RANGE)


def _gone(item: Contribution):
    """A shared link to a contribution taken down says so (410) and where to go next, instead of
    a bare 404; held contributions were never published and stay a 404."""
    if item.withdrawn_at is not None:
        text = _("Cette contribution a été retirée par son auteur.")
    elif item.hidden_at is not None:
        # Hidden by a moderator or, pending review, by three reports: both are moderation.
        text = _("Cette contribution a été masquée par la modération.")
    else:
        return None
    from consult.views import render_error

    onward = (
        url_for("forums.theme", slug=item.theme.slug),
        _("Voir les autres contributions du forum « %(theme)s »", theme=item.theme.title),
    )
    return render_error(410, text, onward=onward)


@bp.route("/")
def index():
    themes = queries.themes(db.session)
    return render_template(
        "forums/index.html", themes=themes, counts=queries.theme_counts(db.session)
    )


@bp.route("/<slug>/")
def theme(slug: str):
    theme = _theme_or_404(slug)
    args = request.args
    filters = queries.Filters.clean(args.get("sous_theme", "")[:12])
    if filters.subtheme_id and filters.subtheme_id not in {s.id for s in theme.subthemes}:
        filters.subtheme_id = None
    sort = args.get("tri", "adoption")
    sort = sort if sort in queries.SORTS else "adoption"
    seed = _seed() if sort == "hasard" else 0
    try:
        page = queries.list_contributions(
            db.session,
            theme.id,
            filters,
            sort,
            args.get("apres", "")[:80] or None,
            seed=seed,
        )
    except queries.BadCursor:
        from consult.views import render_error

        return render_error(400, _("Ce lien de page n'est pas valide. Revenez à la première page."))
    # Their own cards show no vote box: the authors on the page get the full render.
    skeleton.note_persons(c.author_id for c in page.items)
    return render_template(
        "forums/theme.html",
        theme=theme,
        page=page,
        filters=filters,
        sort=sort,
        first_page=not args.get("apres"),
        seed=seed,
        my_votes=services.my_votes(
            db.session,
            me() if current_user.is_authenticated else None,
            [c.id for c in page.items],
        ),
    )


@bp.route("/recherche")
def search():
    """The forums' search is the site's search narrowed to contributions (and to a theme)."""
    query = request.args.get("q", "")[:200].strip()
    theme_slug = request.args.get("theme", "")[:80]
    theme = queries.theme_by_slug(db.session, theme_slug) if theme_slug else None
    return redirect(
        url_for(
            "search.index",
            q=query or None,
            type="contribution",
            theme=theme.slug if theme else None,
            page=request.args.get("page") or None,
        ),
        301,
    )


@bp.route("/<slug>/similaires")
def similar(slug: str):
    """Suggestions while the title is typed (the script); the no-JS path is the check step."""
    theme = _theme_or_404(slug)
    title = request.args.get("titre", "")[:200]
    found = queries.similar_contributions(db.session, theme.id, title)
    return jsonify(
        [
            {
                "id": c.id,
                "title": c.title,
                "url": url_for("forums.contribution", contribution_id=c.id),
                "adopt_count": c.adopt_count,
            }
            for c in found
        ]
    )


@bp.route("/<slug>/contribuer", methods=["GET", "POST"])
@limit("RATELIMIT_CONTRIBUTE", LIMIT_MESSAGE)
def new(slug: str):
    theme = _theme_or_404(slug)
    require(Permission.CONTRIBUTE)
    form = forms.ContributionForm()
    form.set_theme(theme)
    similar = []
    status = 200
    if theme.is_open() and form.validate_on_submit():
        similar = queries.similar_contributions(db.session, theme.id, form.title.data)
        if similar and form.checked.data != "1":
            # The check step: show what already exists before publishing a duplicate.
            form.checked.data = "1"
            return render_template(
                "forums/new.html", theme=theme, form=form, similar=similar, step="check"
            )
        try:
            contribution = services.post_contribution(
                db.session,
                me(),
                theme,
                int(form.subtheme.data),
                form.title.data,
                form.body.data,
                personal_data_confirmed=form.confirm_personal_data.data,
            )
            commit()
        except ForumError as exc:
            db.session.rollback()
            return refuse(exc)
        except PersonalDataNotConfirmed as exc:
            db.session.rollback()
            form.personal_data_kinds = exc.kinds
            page = render_template(
                "forums/new.html", theme=theme, form=form, similar=[], step="write"
            )
            return page, 422
        if contribution.held_for_review:
            flash(
                _(
                    "Votre contribution contient une adresse ou un numéro de téléphone : "
                    "elle sera publiée après relecture par l'équipe de modération."
                ),
                "warning",
            )
        else:
            flash(_("Votre contribution est publiée. Merci !"), "success")
        return redirect(url_for("forums.contribution", contribution_id=contribution.id))
    if request.method == "POST":
        status = 409 if not theme.is_open() else 422
    return (
        render_template("forums/new.html", theme=theme, form=form, similar=similar, step="write"),
        status,
    )


@bp.route("/rencontres/<int:event_id>/contribution", methods=["GET", "POST"])
# The organiser types a whole stack of paper in one sitting: the territorial write limit.
@limit("RATELIMIT_TERRITORIAL_WRITE", LIMIT_MESSAGE)
def meeting_contribution(event_id: int):
    """The organiser types in a contribution collected in the room of the meeting."""
    from consult.territorial.models import Event
    from consult.territorial.permissions import Permission as TerritorialPermission
    from forums.models import Theme

    event = db.session.get(Event, event_id)
    if event is None:
        abort(404)
    require(TerritorialPermission.EVENT_ORGANISE, event)
    form = forms.MeetingContributionForm()
    themes = list(db.session.scalars(select(Theme).order_by(Theme.position)))
    form.set_choices([t for t in themes if t.is_open()])
    context = {"event": event, "recorded": services.meeting_contributions(db.session, event.id)}
    if form.validate_on_submit():
        try:
            item = services.record_meeting_contribution(
                db.session,
                me(),
                event,
                bounded_int(form.subtheme.data, 0),
                form.audience.data,
                form.title.data,
                form.body.data,
            )
            commit()
        except ForumError as exc:
            return refuse(exc, form=form, template="forums/meeting_new.html", **context)
        if item.held_for_review:
            flash(
                _(
                    "Cette contribution contient des coordonnées : elle sera publiée après "
                    "relecture par l'équipe de modération."
                ),
                "warning",
            )
        else:
            flash(_("La contribution recueillie est publiée."), "success")
        return redirect(url_for("forums.meeting_contribution", event_id=event.id))
    status = 422 if request.method == "POST" else 200
    return render_template("forums/meeting_new.html", form=form, **context), status


def _reply_target(item: Contribution, raw: str | None):
    """The top-level comment a reply is being written to (?repondre=<id>), if valid."""
    number = bounded_int(raw, 0)
    if not number:
        return None
    parent = db.session.get(Comment, number)
    if parent is None or parent.contribution_id != item.id or parent.parent_id is not None:
        return None
    return parent if parent.is_visible else None


@bp.route("/contributions/<int:contribution_id>")
def contribution(contribution_id: int):
    item = db.session.get(Contribution, contribution_id)
    if item is not None and not authorize(current_user, Permission.VIEW, item):
        gone = _gone(item)
        if gone is not None:
            return gone
    item = _contribution_or_404(contribution_id)
    skeleton.note_persons([item.author_id])
    skeleton.note_guard("forums.commented", item.id)
    user = me() if current_user.is_authenticated else None
    reply_to = _reply_target(item, request.args.get("repondre"))
    # A link to a comment (?commentaire=) or a reply opens the page that shows it.
    focus = bounded_int(request.args.get("commentaire"), 0, minimum=0) or None
    comments = queries.comment_page(
        db.session,
        item,
        user.id if user else None,
        page=bounded_int(request.args.get("page"), 1),
        focus=focus or (reply_to.id if reply_to else None),
    )
    return render_template(
        "forums/contribution.html",
        contribution=item,
        threads=comments.threads,
        comments=comments,
        my_vote=services.my_vote(db.session, user, item),
        vote_form=forms.VoteForm(),
        comment_form=forms.CommentForm(formdata=None),
        reply_to=reply_to,
        action_form=forms.ActionForm(),
        polarities=list(Polarity),
        moderator=is_moderator(user),
    )


@bp.route("/contributions/<int:contribution_id>/modifier", methods=["GET", "POST"])
def edit(contribution_id: int):
    item = _contribution_or_404(contribution_id)
    user = me() if current_user.is_authenticated else None
    if not may_participate(user):
        require(Permission.EDIT, item)  # login page, or the blocked-account refusal
    if not authorize(user, Permission.EDIT, item):
        return refuse(
            ForumError(
                _(
                    "Cette contribution ne peut plus être modifiée : le délai de 30 minutes est "
                    "écoulé, elle a reçu des votes, ou vous n'en êtes pas l'auteur."
                ),
                403 if item.author_id != user.id else 409,
            )
        )
    form = forms.ContributionForm(
        obj=None,
        data={"subtheme": str(item.subtheme_id), "title": item.title, "body": item.body},
    )
    form.set_theme(item.theme)
    if form.validate_on_submit():
        try:
            services.edit_contribution(
                db.session,
                user,
                item,
                int(form.subtheme.data),
                form.title.data,
                form.body.data,
                personal_data_confirmed=form.confirm_personal_data.data,
            )
            commit()
        except ForumError as exc:
            db.session.rollback()
            return refuse(exc)
        except PersonalDataNotConfirmed as exc:
            db.session.rollback()
            form.personal_data_kinds = exc.kinds
            return render_template("forums/edit.html", contribution=item, form=form), 422
        if item.held_for_review:
            flash(
                _(
                    "Votre contribution contient une adresse ou un numéro de téléphone : "
                    "elle sera publiée après relecture par l'équipe de modération."
                ),
                "warning",
            )
            return redirect(url_for("forums.contribution", contribution_id=item.id))
        flash(_("Votre contribution est modifiée."), "success")
        return redirect(url_for("forums.contribution", contribution_id=item.id))
    status = 422 if request.method == "POST" else 200
    return render_template("forums/edit.html", contribution=item, form=form), status


@bp.route("/contributions/<int:contribution_id>/retirer", methods=["POST"])
def withdraw(contribution_id: int):
    item = _contribution_or_404(contribution_id)
    require(Permission.WITHDRAW, item)
    form = forms.ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.withdraw(db.session, me(), item)
        commit()
    except ForumError as exc:
        db.session.rollback()
        return refuse(exc)
    flash(
        _("Votre contribution est retirée. Elle reste consultable, marquée comme retirée."), "info"
    )
    return redirect(url_for("forums.contribution", contribution_id=item.id))


@bp.route("/contributions/<int:contribution_id>/vote", methods=["POST"])
@limit("RATELIMIT_VOTE", LIMIT_MESSAGE)
def vote(contribution_id: int):
    # A vote reads the contribution's state and its theme's dates, never its author or
    # sub-theme: their joined loads (and the author's role grants, the theme's sub-themes) were
    # three of the vote's eleven statements.
    item = db.session.execute(
        _vote_target(), {"contribution_id": contribution_id}
    ).scalar_one_or_none()
    if item is None:
        return refuse(ForumError(_("Cette contribution n'existe pas."), 404))
    if not current_user.is_authenticated:
        if wants_json():
            return jsonify({"error": _("Connectez-vous pour voter.")}), 401
        require(Permission.VOTE, item)
    form = forms.VoteForm()
    if not form.validate_on_submit():
        return refuse(ForumError(_("Vote inconnu ou formulaire expiré."), 422))
    try:
        result = services.vote(db.session, me(), item, form.value.data)
        commit()
    except ForumError as exc:
        db.session.rollback()
        return refuse(exc)
    except IntegrityError:
        return _conflict()
    if wants_json():
        return jsonify(
            {
                "adopt_count": result.adopt_count,
                "refuse_count": result.refuse_count,
                "mine": result.mine,
            }
        )
    messages = {
        "adopt": _("Vous adoptez cette contribution."),
        "refuse": _("Vous refusez cette contribution."),
        None: _("Votre vote est retiré."),
    }
    flash(messages[result.mine], "success")
    back = safe_next(request.form.get("next")) or url_for(
        "forums.contribution", contribution_id=item.id
    )
    return redirect(f"{back}#contribution-{item.id}")


@bp.route("/contributions/<int:contribution_id>/commentaires", methods=["POST"])
@limit("RATELIMIT_COMMENT", LIMIT_MESSAGE)
def comment(contribution_id: int):
    item = _contribution_or_404(contribution_id)
    if not current_user.is_authenticated:
        require(Permission.COMMENT, item)
    form = forms.CommentForm()

    def form_again():
        reply_to = _reply_target(item, form.parent.data)
        comments = queries.comment_page(
            db.session, item, me().id, focus=reply_to.id if reply_to else None
        )
        return (
            render_template(
                "forums/contribution.html",
                contribution=item,
                threads=comments.threads,
                comments=comments,
                my_vote=services.my_vote(db.session, me(), item),
                vote_form=forms.VoteForm(),
                comment_form=form,
                reply_to=reply_to,
                action_form=forms.ActionForm(),
                polarities=list(Polarity),
                moderator=is_moderator(me()),
            ),
            422,
        )

    if not form.validate_on_submit():
        return form_again()
    parent = bounded_int(form.parent.data, 0) if form.parent.data else None
    if parent == 0:
        return refuse(ForumError(_("Le commentaire auquel vous répondez n'existe pas."), 404))
    try:
        created = services.add_comment(
            db.session,
            me(),
            item,
            form.polarity.data,
            form.body.data,
            parent,
            personal_data_confirmed=form.confirm_personal_data.data,
        )
        commit()
    except ForumError as exc:
        db.session.rollback()
        return refuse(exc)
    except PersonalDataNotConfirmed as exc:
        db.session.rollback()
        form.personal_data_kinds = exc.kinds
        return form_again()
    if created.held_for_review:
        flash(
            _("Votre commentaire sera publié après relecture (il contient des coordonnées)."),
            "warning",
        )
    else:
        flash(_("Votre commentaire est publié."), "success")
    return redirect(
        url_for(
            "forums.contribution",
            contribution_id=item.id,
            commentaire=created.id,
            _anchor=f"commentaire-{created.id}",
        )
    )
