"""Results space pages: /resultats/ (published syntheses, their versions, PDF and tables) and
the composer under /resultats/composer/.

Each view is thin: permission → form → service → commit → redirect. Refusals from the services
come back as French messages with their 4xx status, never a 500.
"""

from __future__ import annotations

from dataclasses import asdict

from flask import (
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from consult import csvout
from consult.cache import cached_json
from consult.db import commit, db
from consult.permissions import authorize, may_participate, refuse_blocked
from consult.territories import Scope, catalog, scope_of
from consult.text import render_markdown
from consult.web import attach_error, limit, site_url
from consult.web import me as _me
from synthesis import pdf, results
from synthesis import results_forms as forms
from synthesis.blueprint import bp
from synthesis.permissions import Permission
from synthesis.results import ResultsError
from synthesis.results_models import (
    SynthesisProposal,
    SynthesisPublication,
    SynthesisSource,
)

FIGURES_CACHE_SECONDS = 3600


def _error(code: int, message: str):
    from consult.views import render_error

    return render_error(code, message)


def public_url(endpoint: str, info: Scope, **values) -> str:
    """URL of a public results page of a scope (slugs, as on /territoires/ and /syntheses/)."""
    if info.kind == "national":
        return url_for(endpoint, kind="national", slug="", **values)
    return url_for(endpoint, kind=info.kind, slug=info.slug, **values)


def _info(publication: SynthesisPublication) -> Scope:
    return results.scope(publication.scope_kind, publication.scope_code)


def _public_rule(suffix: str, endpoint: str, **options):
    """Register a view under the three scope URL forms."""

    def decorator(view):
        bp.add_url_rule(
            f"/resultats/nationale/{suffix}",
            endpoint,
            view,
            defaults={"kind": "national", "slug": ""},
            **options,
        )
        bp.add_url_rule(
            f"/resultats/region/<slug>/{suffix}", endpoint, view, defaults={"kind": "region"}
        )
        bp.add_url_rule(
            f"/resultats/<slug>/{suffix}", endpoint, view, defaults={"kind": "academie"}
        )
        return view

    return decorator


def _scope_or_404(kind: str, slug: str) -> Scope:
    try:
        return results.scope_from_slug(kind, slug)
    except ResultsError:
        abort(404)


# --- Public pages -----------------------------------------------------------------------------


# The navigation links the endpoint "synthesis.results".
@bp.route("/resultats/", endpoint="results")
def results_index():
    latest = results.latest_by_scope(db.session)
    counts = results.version_counts(db.session)
    cat = catalog()
    national = latest.get(("national", ""))
    regions = []
    for region in cat.regions_sorted():
        entries = []
        own = latest.get(("region", region.code))
        if own is not None:
            entries.append(own)
        for code in sorted(region.academie_codes, key=lambda c: cat.academies[c].name):
            found = latest.get(("academie", code))
            if found is not None:
                entries.append(found)
        if entries:
            regions.append((region, entries))
    return render_template(
        "synthesis/results/index.html",
        national=national,
        regions=regions,
        counts=counts,
        composer=current_user.is_authenticated and authorize(current_user, Permission.COMPOSE_ANY),
    )


def _render_publication(info: Scope, publication: SynthesisPublication | None):
    if publication is None:
        abort(404)
    history = results.versions(db.session, info)
    return render_template(
        "synthesis/results/show.html",
        info=info,
        publication=publication,
        history=history,
        current=history[0] if history else None,
        figures=_figure_tables(publication),
        themes=_grouped(publication.proposals),
        publisher=results.publisher_label(publication),
    )


def _figure_tables(publication: SynthesisPublication) -> list[results.FigureTable]:
    """A version's display tables, cached: the version never changes, and formatting
    thousands of frozen rows on every visit would cost hundreds of milliseconds."""
    if not publication.figure_names:
        return []
    key = ":".join(
        (
            "synthesis-results-figures",
            str(publication.id),
            publication.published_at.isoformat(),
            str(get_locale() or "fr"),
        )
    )
    data = cached_json(
        key,
        FIGURES_CACHE_SECONDS,
        lambda: [
            asdict(t) for t in results.figure_tables(publication.figures, publication.figure_names)
        ],
    )
    return [results.FigureTable(**d) for d in data]


def _grouped(proposals: list[SynthesisProposal]) -> list[tuple[str, list[SynthesisProposal]]]:
    groups: dict[str, tuple[str, list[SynthesisProposal]]] = {}
    for proposal in sorted(proposals, key=lambda p: (p.position, p.id)):
        groups.setdefault(proposal.theme_slug, (proposal.theme_title, []))[1].append(proposal)
    order = {slug: i for i, (slug, _title) in enumerate(results.themes(db.session))}
    return [groups[slug] for slug in sorted(groups, key=lambda s: (order.get(s, 99), s))]


@_public_rule("", "results_latest")
def results_latest(kind: str, slug: str):
    info = _scope_or_404(kind, slug)
    return _render_publication(info, results.latest(db.session, info))


@_public_rule("version-<int:number>/", "results_version")
def results_version(kind: str, slug: str, number: int):
    info = _scope_or_404(kind, slug)
    return _render_publication(info, results.published(db.session, info, number))


@_public_rule("version-<int:number>/synthese.pdf", "results_pdf")
def results_pdf(kind: str, slug: str, number: int):
    info = _scope_or_404(kind, slug)
    publication = results.published(db.session, info, number)
    if publication is None:
        abort(404)
    # Versions published through the services alone (demo data, scripts) have no stored PDF;
    # a version citing an item moderation has since taken down is laid out again without it.
    removed = any(s.removed for p in publication.proposals for s in p.sources)
    data = (not removed and publication.pdf) or pdf.render(publication, info, site_url())
    filename = f"synthese-{info.url_key}-v{publication.version}.pdf"
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    # A published version never changes (moderation aside: then a short cache).
    response.headers["Cache-Control"] = "public, max-age=" + ("300" if removed else "86400")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@_public_rule("version-<int:number>/tableaux/<name>.csv", "results_table_csv")
def results_table_csv(kind: str, slug: str, number: int, name: str):
    info = _scope_or_404(kind, slug)
    publication = results.published(db.session, info, number)
    if publication is None:
        abort(404)
    try:
        columns, rows = results.figure_csv_rows(publication.figures, name)
    except ResultsError:
        abort(404)
    filename = f"synthese-{info.url_key}-v{publication.version}-{name}.csv"
    chunks = csvout.stream(columns, results.suppressed_cells(columns, rows))
    response = csvout.response(chunks, filename)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


# --- Composer ---------------------------------------------------------------------------------


def _may_compose(info: Scope) -> bool:
    return authorize(current_user, Permission.COMPOSE, (info.kind, info.code))


def _composer_scope(key: str):
    """(scope, None) or (None, refusal response): 404 unknown, 403 outside the territory."""
    try:
        info = results.scope_from_key(key)
    except ResultsError as exc:
        return None, _error(exc.status, exc.message)
    if not may_participate(current_user):
        refuse_blocked()
    if not _may_compose(info):
        return None, _error(
            403,
            _(
                "Vous ne pouvez pas composer cette synthèse : la synthèse nationale revient aux "
                "analystes, celle d'un territoire à sa coordination."
            ),
        )
    return info, None


@bp.route("/resultats/composer/")
@login_required
def composer_index():
    if not may_participate(current_user):
        refuse_blocked()
    if not authorize(current_user, Permission.COMPOSE_ANY):
        return _error(
            403,
            _(
                "La composition des synthèses est réservée aux analystes et aux coordinations "
                "territoriales."
            ),
        )
    scopes = results.composable_scopes(_me())
    latest = results.latest_by_scope(db.session)
    drafts = results.drafts_by_scope(db.session)
    return render_template(
        "synthesis/results/composer_index.html",
        scopes=scopes,
        latest=latest,
        drafts=drafts,
    )


def _proposal_form(proposal: SynthesisProposal | None = None, formdata=None, **kw):
    prefix = f"p{proposal.id}" if proposal is not None else "new"
    data = (
        {
            "theme": proposal.theme_slug,
            "title": proposal.title,
            "text": proposal.text,
            "position": proposal.position,
        }
        if proposal is not None
        else None
    )
    form = forms.ProposalForm(formdata=formdata, data=data, prefix=prefix, **kw)
    form.theme.choices = [("", _("Choisir un thème")), *results.themes(db.session)]
    return form


def _composer_page(info: Scope, status: int = 200, **overrides):
    draft = results.draft_of(db.session, info)
    latest = results.latest(db.session, info)
    text_form = overrides.get("text_form")
    if text_form is None and draft is not None:
        text_form = forms.TextForm(
            formdata=None,
            data={
                "title": draft.title,
                "introduction": draft.introduction,
                "conclusion": draft.conclusion,
                "figures": draft.figure_names,
            },
        )
    proposals = draft.proposals if draft is not None else []
    edit_forms = {p.id: _proposal_form(p) for p in proposals}
    edit_forms.update(overrides.get("edit_forms", {}))
    source_forms = {p.id: forms.SourceForm(formdata=None, prefix=f"s{p.id}") for p in proposals}
    source_forms.update(overrides.get("source_forms", {}))
    from synthesis import store

    compilation = store.latest(db.session)
    return render_template(
        "synthesis/results/composer.html",
        info=info,
        draft=draft,
        latest=latest,
        history=results.versions(db.session, info),
        text_form=text_form,
        new_form=overrides.get("new_form") or _proposal_form(),
        edit_forms=edit_forms,
        source_forms=source_forms,
        action_form=forms.ActionForm(),
        themes=_grouped(proposals),
        compilation=compilation,
        error=overrides.get("error"),
    ), status


def _refuse(info: Scope, exc: ResultsError, form=None, **overrides):
    db.session.rollback()
    if attach_error(form, exc):
        return _composer_page(info, exc.status, **overrides)
    return _composer_page(info, exc.status, error=exc.message, **overrides)


def _back(info: Scope, anchor: str | None = None):
    return redirect(url_for("synthesis.composer", key=info.url_key, _anchor=anchor))


@bp.route("/resultats/composer/<key>/")
@login_required
def composer(key: str):
    info, refusal = _composer_scope(key)
    if refusal is not None:
        return refusal
    return _composer_page(info)


@bp.route("/resultats/composer/<key>/brouillon", methods=["POST"])
@login_required
@limit("RATELIMIT_SYNTHESIS_WRITE")
def composer_start(key: str):
    info, refusal = _composer_scope(key)
    if refusal is not None:
        return refusal
    if not forms.ActionForm().validate_on_submit():
        return _expired(info)
    try:
        results.start_draft(db.session, info, _me())
        commit()
    except IntegrityError:
        db.session.rollback()  # someone started it at the same moment: theirs is the draft
    return _back(info)


@bp.route("/resultats/composer/<key>/texte", methods=["POST"])
@login_required
@limit("RATELIMIT_SYNTHESIS_WRITE")
def composer_text(key: str):
    info, refusal = _composer_scope(key)
    if refusal is not None:
        return refusal
    form = forms.TextForm()
    if not form.validate_on_submit():
        return _composer_page(info, _form_status(form), text_form=form)
    try:
        draft = results.start_draft(db.session, info, _me())
        results.save_text(
            db.session,
            draft,
            _me(),
            title=form.title.data or "",
            introduction=form.introduction.data or "",
            conclusion=form.conclusion.data or "",
            figure_names=list(form.figures.data or []),
        )
        commit()
    except ResultsError as exc:
        return _refuse(info, exc, form, text_form=form)
    flash(_("Texte enregistré dans le brouillon."), "success")
    return _back(info)


@bp.route("/resultats/composer/<key>/propositions", methods=["POST"])
@login_required
@limit("RATELIMIT_SYNTHESIS_WRITE")
def composer_add_proposal(key: str):
    info, refusal = _composer_scope(key)
    if refusal is not None:
        return refusal
    form = _proposal_form(formdata=request.form)
    if not form.validate_on_submit():
        return _composer_page(info, _form_status(form), new_form=form)
    try:
        draft = results.start_draft(db.session, info, _me())
        proposal = results.add_proposal(
            db.session,
            draft,
            _me(),
            **_proposal_fields(form),
        )
        commit()
    except ResultsError as exc:
        return _refuse(info, exc, form, new_form=form)
    flash(_("Proposition ajoutée."), "success")
    return _back(info, f"proposition-{proposal.id}")


def _expired(info):
    """A POST without a valid CSRF token: the same message as every other synthesis form."""
    return _composer_page(
        info, 400, error=_("Le formulaire a expiré. Rechargez la page et recommencez.")
    )


def _proposal_fields(form) -> dict:
    return {
        "theme": form.theme.data,
        "title": form.title.data or "",
        "text": form.text.data or "",
        "position": form.position.data,
    }


def _form_status(form) -> int:
    return 400 if form.meta.csrf and form.csrf_token.errors else 422


def _draft_item(model, item_id: int):
    """A proposal or source of a draft the user may compose, else a refusal response."""
    item = db.session.get(model, item_id)
    if item is None:
        return None, None, _error(404, _("Cet élément n'existe pas ou plus."))
    proposal = item if isinstance(item, SynthesisProposal) else item.proposal
    publication = proposal.publication
    info = _info(publication)
    if not _may_compose(info):
        return None, None, _error(403, _("Vous ne pouvez pas modifier cette synthèse."))
    if not publication.is_draft:
        return None, None, _error(409, _("Une version publiée ne se modifie pas."))
    return item, info, None


@bp.route("/resultats/composer/propositions/<int:proposal_id>", methods=["POST"])
@login_required
@limit("RATELIMIT_SYNTHESIS_WRITE")
def composer_update_proposal(proposal_id: int):
    proposal, info, refusal = _draft_item(SynthesisProposal, proposal_id)
    if refusal is not None:
        return refusal
    form = _proposal_form(proposal, formdata=request.form)
    if not form.validate_on_submit():
        return _composer_page(info, _form_status(form), edit_forms={proposal.id: form})
    try:
        results.update_proposal(
            db.session,
            proposal,
            _me(),
            **_proposal_fields(form),
        )
        commit()
    except ResultsError as exc:
        return _refuse(info, exc, form, edit_forms={proposal_id: form})
    flash(_("Proposition enregistrée."), "success")
    return _back(info, f"proposition-{proposal_id}")


@bp.route("/resultats/composer/propositions/<int:proposal_id>/supprimer", methods=["POST"])
@login_required
@limit("RATELIMIT_SYNTHESIS_WRITE")
def composer_delete_proposal(proposal_id: int):
    proposal, info, refusal = _draft_item(SynthesisProposal, proposal_id)
    if refusal is not None:
        return refusal
    if not forms.ActionForm().validate_on_submit():
        return _expired(info)
    results.delete_proposal(db.session, proposal, _me())
    commit()
    flash(_("Proposition supprimée."), "success")
    return _back(info)


@bp.route("/resultats/composer/propositions/<int:proposal_id>/sources", methods=["POST"])
@login_required
@limit("RATELIMIT_SYNTHESIS_WRITE")
def composer_add_source(proposal_id: int):
    proposal, info, refusal = _draft_item(SynthesisProposal, proposal_id)
    if refusal is not None:
        return refusal
    form = forms.SourceForm(prefix=f"s{proposal.id}")
    if not form.validate_on_submit():
        return _composer_page(info, _form_status(form), source_forms={proposal.id: form})
    try:
        results.add_source(db.session, proposal, _me(), form.reference.data or "", request.host)
        commit()
    except ResultsError as exc:
        return _refuse(info, exc, form, source_forms={proposal_id: form})
    flash(_("Source ajoutée."), "success")
    return _back(info, f"proposition-{proposal_id}")


@bp.route("/resultats/composer/sources/<int:source_id>/supprimer", methods=["POST"])
@login_required
@limit("RATELIMIT_SYNTHESIS_WRITE")
def composer_remove_source(source_id: int):
    source, info, refusal = _draft_item(SynthesisSource, source_id)
    if refusal is not None:
        return refusal
    proposal_id = source.proposal_id
    if not forms.ActionForm().validate_on_submit():
        return _expired(info)
    results.remove_source(db.session, source, _me())
    commit()
    flash(_("Source retirée."), "success")
    return _back(info, f"proposition-{proposal_id}")


@bp.route("/resultats/composer/<key>/publier", methods=["POST"])
@login_required
@limit("RATELIMIT_SYNTHESIS_WRITE")
def composer_publish(key: str):
    info, refusal = _composer_scope(key)
    if refusal is not None:
        return refusal
    if not forms.ActionForm().validate_on_submit():
        return _expired(info)
    try:
        version = results.publish(db.session, info, _me())
        # Laid out once, in the same transaction: a PDF that cannot be made publishes nothing.
        results.freeze_pdf(db.session, version, pdf.render(version, info, site_url()))
        number = version.version
        commit()
    except ResultsError as exc:
        return _refuse(info, exc)
    except IntegrityError:
        db.session.rollback()
        return _error(
            409, _("Une autre version vient d'être publiée à l'instant : rechargez la page.")
        )
    flash(_("Version %(n)d publiée.", n=number), "success")
    return redirect(public_url("synthesis.results_version", info, number=number))


# --- Registration -----------------------------------------------------------------------------


def setup(app: Flask) -> None:
    from consult.hooks import hooks

    registered = hooks(app)
    registered.territory_panels.append("synthesis/results/_territory_panel.html")
    registered.personal_data.append(results.personal_data)
    # After the synthesis step (registered earlier in init_app): cites compiled, real items.
    registered.demo_steps.append(("synthesis_results", results.demo))

    @app.template_global()
    def results_citations(kind: str, target_id: int) -> list[SynthesisPublication]:
        return results.citations(db.session, str(kind), int(target_id))

    @app.template_global()
    def results_latest_for(kind: str, code: str) -> SynthesisPublication | None:
        found = scope_of(str(kind), code)
        return results.latest(db.session, found) if found is not None else None

    @app.template_global()
    def results_url(endpoint: str, info: Scope, **values) -> str:
        return public_url(endpoint, info, **values)

    @app.template_global()
    def results_scope(publication: SynthesisPublication) -> Scope:
        return _info(publication)

    @app.template_global()
    def results_markdown(text: str):
        return render_markdown(text)
