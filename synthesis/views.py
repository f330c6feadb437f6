"""The synthesis pages (/syntheses/, an académie's, a région académique's) and the analyst
controls: recompile on the job queue (``synthesis.tasks``), upload a reference population.

Pages read the latest compilation only (never the consultation tables), suppressed unless the
visitor may see detailed aggregates, and cache what they build per compilation, audience of the
page (public or detailed) and locale.
"""

from __future__ import annotations

from flask import (
    Flask,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from consult import counters, jobs
from consult.cache import cached_json
from consult.db import commit, db
from consult.hooks import hooks
from consult.moderation import visibility_generation
from consult.permissions import can, require
from consult.territorial import territory as territories
from consult.territories import Scope, catalog
from consult.views import CSP, render_error
from consult.web import limit
from consult.web import me as _me
from synthesis import charts, forms, geo, store, tasks
from synthesis.blueprint import bp
from synthesis.models import QUEUED, Compilation, ReferencePopulation
from synthesis.permissions import Permission

# Keys carry the compilation: a cached page never goes stale, it is only superseded.
PAGE_CACHE_SECONDS = 24 * 3600
# How often the compilation status page reloads itself while a job is queued or running.
REFRESH_SECONDS = 3

# plotly.js writes inline styles and the map layer (maplibre) builds its workers from blob:
# URLs; only the synthesis pages, whose user-written content is escaped text in tables, allow
# them.
PAGE_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'") + (
    "; worker-src blob:"
)
# Pages that draw charts: the national page and the territories' (the index, /syntheses/,
# holds summaries and links only).
CHART_ENDPOINTS = {"synthesis.national", "synthesis.territory"}


# --- Pages --------------------------------------------------------------------------------------


def _key(compilation: Compilation, *parts: object) -> str:
    # The compilation's version (a rolled-back or reset database may reuse ids; topics arrive
    # after the tables) and the visibility generation: pages list items, which moderation may
    # hide at any time.
    parts = (visibility_generation(), *parts)
    return ":".join(["synthesis", store.version(compilation), *map(str, parts)])


def _national_rows(compilation: Compilation, detailed: bool) -> dict | None:
    """The national figures territory pages compare with, loaded (and suppressed) once per
    compilation rather than once per territory."""

    def build():
        tables = store.load(
            db.session,
            "national",
            "",
            public=not detailed,
            compilation=compilation,
            tables=charts.NATIONAL_TABLES,
        )
        if tables is None:
            return None
        return {name: charts.rows_of(tables, name) for name in charts.NATIONAL_TABLES}

    level = "detailed" if detailed else "public"
    return cached_json(_key(compilation, "national-rows", level), PAGE_CACHE_SECONDS, build)


def _sections(compilation: Compilation, kind: str, code: str, detailed: bool) -> dict | None:
    level = "detailed" if detailed else "public"

    def build():
        tables = store.load(
            db.session,
            kind,
            code,
            public=not detailed,
            compilation=compilation,
            tables=charts.PAGE_TABLES,
        )
        if tables is None:
            return None
        national = _national_rows(compilation, detailed) if kind != "national" else None
        sections = charts.page(tables, national, url_for("synthesis.academies_geojson"))
        meta = store.meta(db.session, kind, code, compilation=compilation)
        sections["weighting"] = charts.weighting_note(meta, detailed)
        return sections

    key = _key(compilation, "page", kind, code, level, get_locale())
    return cached_json(key, PAGE_CACHE_SECONDS, build)


def warm_cache(app: Flask, *, detailed: bool = False) -> int:
    """Build and cache every scope's page of the latest compilation (public by default), so
    no visitor waits for the first build. Called after a web compilation; the CLI may call it
    too. Returns the number of pages built."""
    from synthesis import catalog

    built = 0
    # On the site's own address: the default (localhost) is refused where TRUSTED_HOSTS is set,
    # which would leave the request without URL building in production.
    with app.test_request_context("/syntheses/", base_url=str(app.config["SITE_URL"])):
        compilation = store.latest(db.session)
        if compilation is None:
            return 0
        for scope in catalog.all_scopes():
            if _sections(compilation, scope.kind, scope.code, detailed) is not None:
                built += 1
        # The people figures of the home page and the territory pages, read from it too.
        counters.warm_people()
    return built


def _running(session) -> Compilation | None:
    """The web compilation queued and not finished, whose job still lives (the job lease's one
    rule, ``tasks.running_marker``: no fixed delay, a long compilation blocks a second one
    for as long as its worker beats)."""
    marker, released = tasks.running_marker(session)
    if released:
        commit()
    return marker


def _compile_job(session) -> tuple[jobs.JobRecord | None, jobs.Progress | None]:
    """The latest compilation job and its live progress (for analysts)."""
    found = jobs.recent(session, tasks.COMPILE, limit=1)
    if not found:
        return None, None
    return found[0], jobs.progress(found[0])


def _render(item: Scope, status: int = 200, *, index: bool = False, **forms_in_error):
    """A synthesis page; ``index``: /syntheses/, the national figures as one-sentence summaries
    linking to the national page's charts, the territories and the analysts' controls. Every
    chart with its data table made /syntheses/ a half-megabyte page, sent whole from the page
    cache to every visitor of the section's entry point."""
    session = db.session
    detailed = can(Permission.VIEW_DETAILED)
    compilation = store.latest(session)
    sections = None
    if compilation is not None:
        sections = _sections(compilation, item.kind, item.code, detailed)
    context = {
        "territory": item,
        "title": item.label,
        "compilation": compilation,
        "sections": sections,
        "detailed": detailed,
        "cat": catalog(),
        "may_compile": can(Permission.COMPILE),
        "may_manage_reference": can(Permission.MANAGE_REFERENCE),
        "index": index,
    }
    if index and context["may_compile"]:
        context["last_run"] = session.scalar(
            select(Compilation).order_by(Compilation.id.desc()).limit(1)
        )
        context["running"] = _running(session)
        context["job"], context["job_progress"] = _compile_job(session)
        last = context["last_run"]
        if last is not None and last.duration_ms is not None:
            context["last_run_seconds"] = format_decimal(round(last.duration_ms / 1000, 1))
        context["recompile_form"] = forms_in_error.get("recompile_form") or forms.RecompileForm()
    if index and context["may_manage_reference"]:
        context["reference"] = session.scalar(
            select(ReferencePopulation)
            .where(ReferencePopulation.active.is_(True))
            .order_by(ReferencePopulation.id.desc())
            .limit(1)
        )
        context["reference_form"] = forms_in_error.get("reference_form") or forms.ReferenceForm()
    return render_template("synthesis/page.html", **context), status


@bp.route("/syntheses/")
def index():
    return _render(territories.NATIONAL, index=True)


@bp.route("/syntheses/france/")
def national():
    return _render(territories.NATIONAL)


@bp.route("/syntheses/<slug>/", defaults={"kind": "academie"})
@bp.route("/syntheses/region/<slug>/", defaults={"kind": "region"})
def territory(kind: str, slug: str):
    item = territories.by_slug(kind, slug)
    if item is None:
        if kind == "region":
            return render_error(404, _("Cette région académique n’existe pas."))
        return render_error(404, _("Cette académie n’existe pas."))
    return _render(item)


@bp.route("/syntheses/carte/academies.geojson")
def academies_geojson():
    response = Response(geo.geojson_bytes(), mimetype="application/geo+json")
    response.cache_control.public = True
    response.cache_control.max_age = 24 * 3600
    return response


# --- Analyst controls ---------------------------------------------------------------------------


@bp.route("/syntheses/recompiler", methods=["POST"])
@limit("RATELIMIT_SYNTHESIS_WRITE")
def recompile():
    require(Permission.COMPILE)
    form = forms.RecompileForm()
    if not form.validate_on_submit():
        return render_error(400, _("Le formulaire a expiré. Rechargez la page et recommencez."))
    if _running(db.session) is not None:
        db.session.rollback()
        return render_error(
            409, _("Une compilation est déjà en cours. Attendez qu’elle se termine.")
        )
    me = _me()
    try:
        compilation = store.start(db.session, trigger="web", user_id=me.id if me else None)
        compilation.status = QUEUED
        db.session.flush()
        # Queued on the job queue once this commits: never run in a web worker's thread.
        tasks.submit_compilation(db.session, compilation)
        commit()
    except IntegrityError:
        # Another analyst's request queued one between our check and our insert.
        db.session.rollback()
        return render_error(
            409, _("Une compilation est déjà en cours. Attendez qu’elle se termine.")
        )
    flash(_("Compilation lancée. Les pages seront à jour dans quelques instants."), "info")
    return redirect(url_for("synthesis.index") + "#compilation")


@bp.route("/syntheses/compilation")
def compilation_status():
    """The compilation jobs and their progress, refreshed every few seconds while one runs
    (a meta refresh: the charts page is too heavy to reload that often)."""
    require(Permission.COMPILE)
    session = db.session
    if jobs.expire_lost(session):
        commit()
    records = jobs.recent(session, tasks.COMPILE, limit=10)
    rows = [(record, jobs.progress(record)) for record in records]
    return render_template(
        "synthesis/compilation.html",
        rows=rows,
        active=any(record.active for record in records),
        refresh_seconds=REFRESH_SECONDS,
    )


@bp.route("/syntheses/reference", methods=["POST"])
@limit("RATELIMIT_SYNTHESIS_WRITE")
def upload_reference():
    require(Permission.MANAGE_REFERENCE)
    from synthesis import weighting

    form = forms.ReferenceForm()
    if not form.validate_on_submit():
        status = 400 if form.csrf_token.errors else 422
        return _render(territories.NATIONAL, status, index=True, reference_form=form)
    # Big uploads are spooled to a temporary file: close it as soon as it is read.
    with form.file.data.stream as stream:
        raw = stream.read(forms.REFERENCE_MAX_BYTES + 1)
    if len(raw) > forms.REFERENCE_MAX_BYTES:
        form.file.errors.append(
            _(
                "Le fichier dépasse %(size)s Ko : une population de référence tient en "
                "quelques kilo-octets.",
                size=forms.REFERENCE_MAX_BYTES // 1024,
            )
        )
        return _render(territories.NATIONAL, 422, index=True, reference_form=form)
    try:
        table = weighting.parse_reference_csv(raw)
    except weighting.ReferenceError as exc:
        form.file.errors.append(str(exc))
        return _render(territories.NATIONAL, 422, index=True, reference_form=form)
    try:
        weighting.save_reference(db.session, table, form.label.data, form.source.data, _me())
    except weighting.ReferenceError as exc:
        db.session.rollback()
        form.label.errors.append(str(exc))
        return _render(territories.NATIONAL, 422, index=True, reference_form=form)
    commit()
    flash(
        _("Population de référence enregistrée : elle servira à la prochaine compilation."),
        "success",
    )
    return redirect(url_for("synthesis.index") + "#reference")


# --- Wiring -------------------------------------------------------------------------------------


@bp.after_request
def _page_csp(response: Response) -> Response:
    if request.endpoint in CHART_ENDPOINTS and response.status_code in (200, 400, 422):
        response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def setup(app: Flask) -> None:
    hooks(app).territory_panels.append("synthesis/_territory_panel.html")
