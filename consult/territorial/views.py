"""Territorial pages: the territories list, académie and région académique pages, ideas box,
calendar and news. Views are thin: permission → form → service → commit → redirect."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError

from consult import dates
from consult.cache import cache
from consult.db import commit, db, utcnow
from consult.hooks import hooks
from consult.permissions import require
from consult.territorial import feeds, forms, queries, services, territory
from consult.territorial.map import france_map
from consult.territorial.models import Event, EventAttachment, Idea, IdeaStatus, NewsItem
from consult.territorial.permissions import Permission, can_see_idea, managed_territories
from consult.territorial.services import EventData, TerritorialError
from consult.territories import Scope, catalog
from consult.text import PersonalDataNotConfirmed
from consult.views import render_error
from consult.web import absolute_url, limit, me, refuse

bp = Blueprint("territories", __name__, url_prefix="/territoires")

FEED_SIZE = 50


def _conflict():
    db.session.rollback()
    return render_error(
        409, _("Cette action vient d'être faite ou entre en conflit avec une autre.")
    )


def _form_status() -> int:
    return 422 if request.method == "POST" else 200


def _int_arg(name: str, default: int = 1, maximum: int = 10_000) -> int:
    try:
        value = int(request.args.get(name, default))
    except (TypeError, ValueError):
        return default
    return min(max(value, 1), maximum)


def _academie_or_404(slug: str) -> Scope:
    found = territory.by_slug("academie", slug)
    if found is None:
        abort(404)
    return found


def _region_or_404(slug: str) -> Scope:
    found = territory.by_slug("region", slug)
    if found is None:
        abort(404)
    return found


def _get_or_404(model, ident: int):
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


def _territory_url(item: Scope, external: bool = False) -> str:
    # External links are built on SITE_URL (consult.web.ConsultFlask), never the Host header.
    if item.kind == "academie":
        return url_for("territories.academie", slug=item.slug, _external=external)
    if item.kind == "region":
        return url_for("territories.region", slug=item.slug, _external=external)
    return url_for("territories.index", _external=external)


# --- Territories -----


@bp.route("/")
def index():
    cat = catalog()
    counts = queries.idea_counts_by_academie(db.session, tuple(cat.academies))
    return render_template(
        "territorial/index.html",
        regions=cat.regions_sorted(),
        cat=cat,
        france_map=france_map(),
        academies_by_region={
            r.code: sorted((cat.academies[c] for c in r.academie_codes), key=lambda a: a.slug)
            for r in cat.regions.values()
        },
        idea_counts=counts,
        events=queries.upcoming_events(db.session, territory.NATIONAL, limit=5),
    )


def _territory_page(item: Scope):
    session = db.session
    ideas, ideas_total = queries.ideas_page(session, item.academie_codes, sort="soutiens")
    return render_template(
        "territorial/territory.html",
        territory=item,
        academie_codes=item.academie_codes,
        cat=catalog(),
        news=queries.latest_news(session, item),
        minutes=queries.latest_minutes(session, item),
        events=queries.upcoming_events(session, item),
        ideas=ideas[:5],
        ideas_total=ideas_total,
        stats=queries.cached_participation(session, item),
        panels=hooks().territory_panels,
        territory_url=_territory_url,
    )


@bp.route("/<slug>/")
def academie(slug: str):
    return _territory_page(_academie_or_404(slug))


@bp.route("/region/<slug>/")
def region(slug: str):
    return _territory_page(_region_or_404(slug))


# --- Ideas box -----


def _ideas_list(item: Scope):
    sort = request.args.get("tri", "soutiens")
    if sort not in queries.IDEA_SORTS:
        sort = "soutiens"
    status = request.args.get("statut") or None
    if status not in {None, "sans_reponse", *IdeaStatus}:
        status = None
    page = _int_arg("page")
    ideas, total = queries.ideas_page(
        db.session, item.academie_codes, sort=sort, status=status, page=page
    )
    pages = max((total + queries.PAGE_SIZE - 1) // queries.PAGE_SIZE, 1)
    if page > pages:
        abort(404)
    return render_template(
        "territorial/ideas.html",
        territory=item,
        ideas=ideas,
        total=total,
        page=page,
        pages=pages,
        sort=sort,
        status=status,
        statuses=list(IdeaStatus),
        territory_url=_territory_url,
    )


@bp.route("/<slug>/idees/")
def ideas(slug: str):
    return _ideas_list(_academie_or_404(slug))


@bp.route("/region/<slug>/idees/")
def region_ideas(slug: str):
    return _ideas_list(_region_or_404(slug))


@bp.route("/idees/nouvelle", methods=["GET", "POST"])
@login_required
@limit("RATELIMIT_IDEA")
def new_idea():
    user = me()
    if user.academie_code not in catalog().academies:
        return render_error(
            403, _("Indiquez votre académie dans votre profil pour proposer une idée.")
        )
    require(Permission.IDEA_POST, user.academie_code)
    home = territory.academie(user.academie_code)
    form = forms.IdeaForm()
    if form.validate_on_submit():
        try:
            idea = services.post_idea(
                db.session,
                user,
                form.title.data,
                form.body.data,
                personal_data_confirmed=form.confirm_personal_data.data,
            )
            commit()
        except TerritorialError as exc:
            return refuse(exc)
        except PersonalDataNotConfirmed as exc:
            db.session.rollback()
            form.personal_data_kinds = exc.kinds
            page = render_template("territorial/idea_form.html", form=form, territory=home)
            return page, 422
        if idea.held_for_review:
            flash(
                _(
                    "Votre idée contient des coordonnées : elle sera publiée après relecture "
                    "par un modérateur."
                ),
                "warning",
            )
        else:
            flash(_("Votre idée est publiée."), "success")
        return redirect(url_for("territories.idea", idea_id=idea.id))
    return render_template("territorial/idea_form.html", form=form, territory=home), _form_status()


@bp.route("/idees/<int:idea_id>")
def idea(idea_id: int):
    item = _get_or_404(Idea, idea_id)
    if not can_see_idea(me() if current_user.is_authenticated else None, item):
        abort(404)
    answer_form = forms.AnswerForm(
        formdata=None, data={"status": item.status, "answer": item.answer}
    )
    return render_template(
        "territorial/idea.html",
        idea=item,
        territory=territory.academie(item.academie_code),
        supported=services.has_supported(db.session, current_user, item),
        answer_form=answer_form,
        action_form=FlaskForm(),
        territory_url=_territory_url,
    )


@bp.route("/idees/<int:idea_id>/soutenir", methods=["POST"])
@login_required
@limit("RATELIMIT_SUPPORT")
def support(idea_id: int):
    item = _get_or_404(Idea, idea_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.support_idea(db.session, me(), item)
        commit()
    except TerritorialError as exc:
        return refuse(exc)
    except IntegrityError:
        return render_error(409, _("Vous soutenez déjà cette idée."))
    flash(_("Votre soutien est enregistré."), "success")
    return redirect(url_for("territories.idea", idea_id=item.id))


@bp.route("/idees/<int:idea_id>/reponse", methods=["POST"])
@login_required
@limit("RATELIMIT_TERRITORIAL_WRITE")
def answer(idea_id: int):
    item = _get_or_404(Idea, idea_id)
    require(Permission.IDEA_ANSWER, item)
    form = forms.AnswerForm()
    if form.validate_on_submit():
        services.answer_idea(db.session, me(), item, form.status.data, form.answer.data)
        commit()
        flash(_("La réponse est publiée."), "success")
        return redirect(url_for("territories.idea", idea_id=item.id))
    return (
        render_template(
            "territorial/idea.html",
            idea=item,
            territory=territory.academie(item.academie_code),
            supported=services.has_supported(db.session, current_user, item),
            answer_form=form,
            action_form=FlaskForm(),
            territory_url=_territory_url,
        ),
        422,
    )


# --- Calendar -----


@bp.route("/agenda/")
def calendar():
    page = _int_arg("page")
    past = request.args.get("periode") == "passees"
    stmt = queries.events_query(territory.NATIONAL, upcoming=not past)
    if past:
        stmt = stmt.where(Event.ends_at < utcnow())
    events = list(
        db.session.scalars(stmt.limit(queries.PAGE_SIZE + 1).offset((page - 1) * queries.PAGE_SIZE))
    )
    return render_template(
        "territorial/calendar.html",
        events=events[: queries.PAGE_SIZE],
        page=page,
        past=past,
        has_next=len(events) > queries.PAGE_SIZE,
        territory_url=_territory_url,
    )


def _cached_feed(key: str, build) -> str:
    """Feeds are polled by calendar and feed readers; building them is the costly part
    (iCalendar line folding), so each is kept a short while in the shared cache."""
    ttl = current_app.config["TERRITORIAL_FEED_CACHE_SECONDS"]
    if ttl <= 0:
        return build()
    store = cache()
    full_key = f"territorial:feed:{key}"
    found = store.get(full_key)
    if found is None:
        found = build()
        store.set(full_key, found, ttl)
    return found


def _ics(item: Scope, filename: str) -> Response:
    def build() -> str:
        events = db.session.scalars(queries.events_query(item, upcoming=False).limit(1000)).all()
        return feeds.ical(item, events).decode("utf-8")

    return Response(
        _cached_feed(f"ics:{item.form_key}", build),
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'inline; filename="{filename}.ics"',
            "Cache-Control": "public, max-age=300",
        },
    )


@bp.route("/agenda.ics")
def calendar_ics():
    return _ics(territory.NATIONAL, "consult-agenda")


@bp.route("/<slug>/agenda.ics")
def academie_ics(slug: str):
    item = _academie_or_404(slug)
    return _ics(item, f"consult-agenda-{item.slug}")


@bp.route("/region/<slug>/agenda.ics")
def region_ics(slug: str):
    item = _region_or_404(slug)
    return _ics(item, f"consult-agenda-region-{item.slug}")


@bp.route("/evenements/<int:event_id>")
def event(event_id: int):
    item = _get_or_404(Event, event_id)
    mine = services.registration_of(db.session, current_user, item)
    return render_template(
        "territorial/event.html",
        event=item,
        territory=territory.from_scope(item.scope_kind, item.scope_code),
        registered=mine is not None and not mine.waiting,
        waiting_position=services.waiting_position(db.session, mine) if mine else None,
        minutes=services.minutes_of(db.session, item),
        attachments=services.attachments_of(db.session, item),
        panels=hooks().event_panels,
        action_form=FlaskForm(),
        territory_url=_territory_url,
    )


def _organised_event_or_404(event_id: int) -> Event:
    item = _get_or_404(Event, event_id)
    require(Permission.EVENT_ORGANISE, item)
    return item


@bp.route("/evenements/<int:event_id>/inscrits")
@login_required
def registrants(event_id: int):
    """The organiser's list: pseudonyms and audiences only (never an email), printable."""
    item = _organised_event_or_404(event_id)
    rows = services.registrants(db.session, item)
    return render_template(
        "territorial/registrants.html",
        event=item,
        territory=territory.from_scope(item.scope_kind, item.scope_code),
        rows=rows,
        counts=services.counts_by_audience(rows),
        action_form=FlaskForm(),
        territory_url=_territory_url,
    )


@bp.route("/evenements/<int:event_id>/inscrits.csv")
@login_required
def registrants_csv(event_id: int):
    from consult import csvout

    item = _organised_event_or_404(event_id)
    rows = services.registrants(db.session, item)
    labels = {"registered": _("inscrit"), "waiting": _("liste d'attente")}
    waiting_rank = 0
    lines = []
    for row in rows:
        rank = None
        if row.waiting:
            waiting_rank += 1
            rank = waiting_rank
        lines.append(
            [
                row.user.public_name if row.user else "",
                str(row.author_audience),
                labels.get(row.status, row.status),
                rank,
            ]
        )
    # Pseudonym and audience only: nothing else about a person leaves the platform.
    header = [_("Pseudonyme"), _("Public"), _("Statut"), _("Rang d'attente")]
    return csvout.response(
        csvout.stream(header, lines, csvout.separator(request.args)),
        f"inscrits-evenement-{item.id}.csv",
    )


@bp.route("/evenements/<int:event_id>/inscrits/<int:registration_id>/retirer", methods=["POST"])
@login_required
@limit("RATELIMIT_TERRITORIAL_WRITE")
def remove_registrant(event_id: int, registration_id: int):
    item = _organised_event_or_404(event_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        promoted = services.remove_registration(db.session, me(), item, registration_id)
        commit()
    except TerritorialError as exc:
        return refuse(exc)
    services.notify_promoted(promoted)
    flash(_("L'inscription est retirée."), "success")
    return redirect(url_for("territories.registrants", event_id=item.id))


def _minutes_context(item: Event, existing, attachment_form=None) -> dict:
    return {
        "event": item,
        "territory": territory.from_scope(item.scope_kind, item.scope_code),
        "territory_url": _territory_url,
        "existing": existing,
        "attachments": services.attachments_of(db.session, item),
        "attachment_form": attachment_form or forms.AttachmentForm(formdata=None),
        "action_form": FlaskForm(),
    }


@bp.route("/evenements/<int:event_id>/compte-rendu/pieces-jointes", methods=["POST"])
@login_required
@limit("RATELIMIT_TERRITORIAL_WRITE")
def upload_attachment(event_id: int):
    item = _organised_event_or_404(event_id)
    form = forms.AttachmentForm()
    existing = services.minutes_of(db.session, item)
    minutes_form = forms.MinutesForm(formdata=None, body=existing.body if existing else "")
    if existing is not None:
        minutes_form.set_attendance(existing.attendance)
    if not form.validate_on_submit():
        context = _minutes_context(item, existing, form)
        return render_template("territorial/minutes_form.html", form=minutes_form, **context), 422
    try:
        services.add_attachment(
            db.session,
            me(),
            item,
            form.file.data.stream,
            form.file.data.filename or "",
            form.label.data or "",
        )
        commit()
    except TerritorialError as exc:
        db.session.rollback()
        form.file.errors = [exc.message]
        context = _minutes_context(item, services.minutes_of(db.session, item), form)
        page = render_template("territorial/minutes_form.html", form=minutes_form, **context)
        return page, exc.status
    flash(_("La pièce jointe est ajoutée au compte rendu."), "success")
    return redirect(url_for("territories.minutes", event_id=item.id))


@bp.route("/evenements/pieces-jointes/<int:attachment_id>/supprimer", methods=["POST"])
@login_required
@limit("RATELIMIT_TERRITORIAL_WRITE")
def delete_attachment(attachment_id: int):
    attachment = _get_or_404(EventAttachment, attachment_id)
    item = _organised_event_or_404(attachment.event_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    services.delete_attachment(db.session, me(), attachment)
    commit()
    flash(_("La pièce jointe est supprimée."), "success")
    return redirect(url_for("territories.minutes", event_id=item.id))


@bp.route("/evenements/pieces-jointes/<int:attachment_id>")
def attachment(attachment_id: int):
    """Public with the minutes; served as a download that can run nothing (consult.uploads)."""
    from flask import send_file

    from consult import uploads

    found = _get_or_404(EventAttachment, attachment_id)
    if services.minutes_of(db.session, _get_or_404(Event, found.event_id)) is None:
        abort(404)
    path = services.attachment_path(found)
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=found.content_type,
        as_attachment=True,
        download_name=found.filename,
        max_age=3600,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = uploads.ATTACHMENT_CSP
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@bp.route("/evenements/<int:event_id>/compte-rendu", methods=["GET", "POST"])
@login_required
@limit("RATELIMIT_TERRITORIAL_WRITE")
def minutes(event_id: int):
    item = _organised_event_or_404(event_id)
    existing = services.minutes_of(db.session, item)
    if request.method == "GET" and existing is not None:
        form = forms.MinutesForm(formdata=None, body=existing.body)
        form.set_attendance(existing.attendance)
    else:
        form = forms.MinutesForm()
    context = _minutes_context(item, existing)
    if form.validate_on_submit():
        try:
            services.publish_minutes(
                db.session, me(), item, form.body.data, form.attendance_counts()
            )
            commit()
        except TerritorialError as exc:
            return refuse(exc, form=form, template="territorial/minutes_form.html", **context)
        flash(_("Le compte rendu est publié."), "success")
        return redirect(url_for("territories.event", event_id=item.id, _anchor="compte-rendu"))
    return render_template("territorial/minutes_form.html", form=form, **context), _form_status()


def _event_data(form: forms.EventForm) -> EventData:
    kind, _sep, code = form.territory.data.partition(":")
    # The organiser types the times of the event's own territory (La Réunion's in La Réunion).
    zone, _name = dates.zone_for(kind, code)
    return EventData(
        scope_kind=kind,
        scope_code=code,
        title=form.title.data,
        description=form.description.data,
        starts_at=dates.to_utc(form.starts_at.data, zone),
        ends_at=dates.to_utc(form.ends_at.data, zone),
        place=form.place.data,
        online_url=(form.online_url.data or "").strip() or None,
        audiences=list(form.audiences.data),
        registration_url=(form.registration_url.data or "").strip() or None,
        capacity=form.capacity.data,
    )


def _editable_scopes() -> list[tuple[str, str]]:
    scopes = managed_territories(me())
    if not scopes:
        abort(403)
    return scopes


@bp.route("/evenements/nouveau", methods=["GET", "POST"])
@login_required
@limit("RATELIMIT_TERRITORIAL_WRITE")
def new_event():
    require(Permission.EVENT_MANAGE)
    form = forms.EventForm()
    form.set_territories(_editable_scopes())
    if request.method == "GET" and request.args.get("territoire"):
        form.territory.data = request.args["territoire"][:20]
    if form.validate_on_submit():
        try:
            item = services.create_event(db.session, me(), _event_data(form))
            commit()
        except TerritorialError as exc:
            return refuse(exc)
        flash(_("L'événement est publié."), "success")
        return redirect(url_for("territories.event", event_id=item.id))
    return render_template("territorial/event_form.html", form=form, event=None), _form_status()


@bp.route("/evenements/<int:event_id>/modifier", methods=["GET", "POST"])
@login_required
@limit("RATELIMIT_TERRITORIAL_WRITE")
def edit_event(event_id: int):
    item = _get_or_404(Event, event_id)
    require(Permission.EVENT_MANAGE, item)
    if request.method == "GET":
        zone, _name = dates.zone_for(item.scope_kind, item.scope_code)
        form = forms.EventForm(
            formdata=None, obj=item, territory=f"{item.scope_kind}:{item.scope_code}"
        )
        # WTForms prefers the object's attribute to a keyword: the stored UTC times would
        # come back shifted (and saved shifted again), so the local times are set after.
        form.starts_at.data = dates.to_local(item.starts_at, zone)
        form.ends_at.data = dates.to_local(item.ends_at, zone)
    else:
        form = forms.EventForm()
    form.set_territories(_editable_scopes())
    if form.validate_on_submit():
        try:
            promoted = services.update_event(db.session, me(), item, _event_data(form))
            commit()
        except TerritorialError as exc:
            return refuse(exc)
        services.notify_promoted(promoted)
        flash(_("L'événement est modifié."), "success")
        return redirect(url_for("territories.event", event_id=item.id))
    return render_template("territorial/event_form.html", form=form, event=item), _form_status()


@bp.route("/evenements/<int:event_id>/supprimer", methods=["POST"])
@login_required
def delete_event(event_id: int):
    item = _get_or_404(Event, event_id)
    require(Permission.EVENT_MANAGE, item)
    if not FlaskForm().validate_on_submit():
        abort(400)
    target = territory.from_scope(item.scope_kind, item.scope_code) or territory.NATIONAL
    services.delete_event(db.session, me(), item)
    commit()
    flash(_("L'événement est supprimé."), "success")
    return redirect(_territory_url(target))


@bp.route("/evenements/<int:event_id>/inscription", methods=["POST"])
@login_required
@limit("RATELIMIT_REGISTRATION")
def register(event_id: int):
    item = _get_or_404(Event, event_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    require(Permission.EVENT_REGISTER, item)
    try:
        registration = services.register(db.session, me(), item)
        commit()
    except TerritorialError as exc:
        return refuse(exc)
    except IntegrityError:
        return _conflict()
    if registration.waiting:
        flash(
            _(
                "L'événement est complet : vous êtes sur la liste d'attente, en position "
                "%(n)d. Vous serez prévenu si une place se libère.",
                n=services.waiting_position(db.session, registration),
            ),
            "info",
        )
    else:
        flash(_("Votre inscription est enregistrée."), "success")
    return redirect(url_for("territories.event", event_id=item.id))


@bp.route("/evenements/<int:event_id>/desinscription", methods=["POST"])
@login_required
@limit("RATELIMIT_REGISTRATION")
def unregister(event_id: int):
    item = _get_or_404(Event, event_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        promoted = services.unregister(db.session, me(), item)
        commit()
    except TerritorialError as exc:
        return refuse(exc)
    services.notify_promoted(promoted)
    flash(_("Votre inscription est annulée."), "success")
    return redirect(url_for("territories.event", event_id=item.id))


# --- News -----


def _atom(item: Scope, self_endpoint: str, **kwargs: str) -> Response:
    def build() -> str:
        news = db.session.scalars(queries.news_query(item).limit(FEED_SIZE)).all()
        minutes = db.session.scalars(queries.minutes_query(item).limit(FEED_SIZE)).all()
        return feeds.atom(
            item,
            list(news),
            absolute_url(self_endpoint, **kwargs),
            _territory_url(item, external=True),
            list(minutes),
        ).decode("utf-8")

    return Response(
        _cached_feed(f"atom:{item.form_key}", build),
        mimetype="application/atom+xml",
        headers={"Cache-Control": "public, max-age=300"},
    )


@bp.route("/actualites.atom")
def news_atom():
    return _atom(territory.NATIONAL, "territories.news_atom")


@bp.route("/<slug>/actualites.atom")
def academie_atom(slug: str):
    return _atom(_academie_or_404(slug), "territories.academie_atom", slug=slug)


@bp.route("/region/<slug>/actualites.atom")
def region_atom(slug: str):
    return _atom(_region_or_404(slug), "territories.region_atom", slug=slug)


@bp.route("/actualites/")
def news():
    page = _int_arg("page")
    rows = list(
        db.session.scalars(
            queries.news_query(territory.NATIONAL)
            .limit(queries.PAGE_SIZE + 1)
            .offset((page - 1) * queries.PAGE_SIZE)
        )
    )
    return render_template(
        "territorial/news_list.html",
        news=rows[: queries.PAGE_SIZE],
        page=page,
        has_next=len(rows) > queries.PAGE_SIZE,
        territory_url=_territory_url,
    )


@bp.route("/actualites/<int:news_id>")
def news_item(news_id: int):
    item = _get_or_404(NewsItem, news_id)
    return render_template(
        "territorial/news_item.html",
        item=item,
        territory=territory.from_scope(item.scope_kind, item.scope_code),
        action_form=FlaskForm(),
        territory_url=_territory_url,
    )


@bp.route("/actualites/nouvelle", methods=["GET", "POST"])
@login_required
@limit("RATELIMIT_TERRITORIAL_WRITE")
def new_news():
    require(Permission.NEWS_MANAGE)
    form = forms.NewsForm()
    form.set_territories(_editable_scopes())
    if request.method == "GET" and request.args.get("territoire"):
        form.territory.data = request.args["territoire"][:20]
    if form.validate_on_submit():
        kind, _sep, code = form.territory.data.partition(":")
        try:
            item = services.publish_news(
                db.session, me(), kind, code, form.title.data, form.body.data
            )
            commit()
        except TerritorialError as exc:
            return refuse(exc)
        flash(_("L'actualité est publiée."), "success")
        return redirect(url_for("territories.news_item", news_id=item.id))
    return render_template("territorial/news_form.html", form=form, item=None), _form_status()


@bp.route("/actualites/<int:news_id>/modifier", methods=["GET", "POST"])
@login_required
@limit("RATELIMIT_TERRITORIAL_WRITE")
def edit_news(news_id: int):
    item = _get_or_404(NewsItem, news_id)
    require(Permission.NEWS_MANAGE, item)
    if request.method == "GET":
        form = forms.NewsForm(
            formdata=None, obj=item, territory=f"{item.scope_kind}:{item.scope_code}"
        )
    else:
        form = forms.NewsForm()
    form.set_territories(_editable_scopes())
    if form.validate_on_submit():
        kind, _sep, code = form.territory.data.partition(":")
        try:
            services.update_news(
                db.session, me(), item, kind, code, form.title.data, form.body.data
            )
            commit()
        except TerritorialError as exc:
            return refuse(exc)
        flash(_("L'actualité est modifiée."), "success")
        return redirect(url_for("territories.news_item", news_id=item.id))
    return render_template("territorial/news_form.html", form=form, item=item), _form_status()


@bp.route("/actualites/<int:news_id>/supprimer", methods=["POST"])
@login_required
def delete_news(news_id: int):
    item = _get_or_404(NewsItem, news_id)
    require(Permission.NEWS_MANAGE, item)
    if not FlaskForm().validate_on_submit():
        abort(400)
    target = territory.from_scope(item.scope_kind, item.scope_code) or territory.NATIONAL
    services.delete_news(db.session, me(), item)
    commit()
    flash(_("L'actualité est supprimée."), "success")
    return redirect(_territory_url(target))
