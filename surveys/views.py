"""Questionnaire pages: answering (account or access code), access-code batches, results,
exports, definition editing. Thin views: permission → form → service → commit → redirect."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from consult import csvout
from consult.db import commit, db, utcnow
from consult.inputs import bounded_int
from consult.models import AUDIENCE_LABELS, Audience, Role
from consult.permissions import can, require
from consult.territories import catalog
from consult.views import CSP, render_error
from consult.web import limit, me, refuse
from surveys import disclosure, engine, exports, forms, queries, services
from surveys.permissions import Permission
from surveys.services import Respondent, SurveyError

bp = Blueprint("surveys", __name__, url_prefix="/questionnaire")
CODE_SESSION_KEY = "survey_code"
ACTIONS = ("precedent", "suivant", "brouillon")


LIMIT_MESSAGE = _l("Trop de tentatives. Réessayez dans quelques minutes.")


def _participant_key() -> str:
    """Who a questionnaire limit counts: the account, else the access code in use, else (before
    either) the client address."""
    from consult.extensions import _rate_limit_key

    user = me()
    if user is not None:
        return f"user:{user.id}"
    code_id = session.get(CODE_SESSION_KEY)
    if code_id is not None:
        return f"code:{code_id}"
    return _rate_limit_key()


def _now() -> datetime:
    return utcnow()


def _questionnaire():
    questionnaire = services.current_questionnaire(db.session, current_app.config["SURVEY_SLUG"])
    if questionnaire is None:
        abort(404)
    return questionnaire


def _respondent(questionnaire) -> Respondent | None:
    """An access code remembered in this browser wins; otherwise the logged-in account."""
    code = services.code_in_use(db.session, session.get(CODE_SESSION_KEY), _now())
    if code is not None and code.batch.questionnaire_id == questionnaire.id:
        return Respondent.of_code(code)
    if CODE_SESSION_KEY in session:  # spent or expired: forget it (popping always marks dirty)
        session.pop(CODE_SESSION_KEY)
    if current_user.is_authenticated:
        return Respondent.of_user(current_user)
    return None


def _need_respondent(questionnaire):
    respondent = _respondent(questionnaire)
    # A visitor who followed a link (GET) is sent to the questionnaire's page, which says how
    # to answer; a flash there would open a session just for it.
    if respondent is None and request.method != "GET":
        flash(_("Connectez-vous ou saisissez votre code d'accès pour répondre."), "info")
    return respondent


@bp.before_request
def _private():
    # Answers and codes are personal: never cached by the browser or a proxy.
    g.no_store = True


# Writes that answer the questionnaire. An access code alone needs no account, but a signed-in
# account that may not participate (blocked) answers neither way.
ANSWER_ENDPOINTS = frozenset({"surveys.start", "surveys.code", "surveys.page", "surveys.review"})


@bp.before_request
def _participation():
    if (
        request.method == "POST"
        and request.endpoint in ANSWER_ENDPOINTS
        and current_user.is_authenticated
    ):
        require(Permission.ANSWER)


@bp.route("/")
def index():
    questionnaire = services.current_questionnaire(db.session, current_app.config["SURVEY_SLUG"])
    respondent = draft = None
    answered = False
    if questionnaire is not None:
        respondent = _respondent(questionnaire)
        if respondent is not None:
            draft = services.find_draft(db.session, questionnaire, respondent)
            answered = respondent.user_id is not None and services.has_answered(
                db.session, questionnaire, respondent.user_id
            )
    return render_template(
        "surveys/index.html",
        questionnaire=questionnaire,
        definition=questionnaire.definition if questionnaire else None,
        respondent=respondent,
        draft=draft,
        answered=answered,
        is_open=questionnaire is not None and questionnaire.is_open(_now()),
        opened=questionnaire is not None and questionnaire.has_opened(_now()),
        code_form=forms.CodeForm(),
        start_form=forms.PageForm(),
        audience_label=AUDIENCE_LABELS,
        Audience=Audience,
    )


@bp.route("/commencer", methods=["POST"])
@limit("RATELIMIT_SURVEY_ANSWER_ADDRESS", LIMIT_MESSAGE)
@limit("RATELIMIT_SURVEY_ANSWER", LIMIT_MESSAGE, key_func=_participant_key)
def start():
    questionnaire = _questionnaire()
    if not forms.PageForm().validate_on_submit():
        abort(400)
    respondent = _need_respondent(questionnaire)
    if respondent is None:
        return redirect(url_for("surveys.index"))
    try:
        draft = services.start(db.session, questionnaire, respondent, _now())
        commit()
    except SurveyError as exc:
        return refuse(exc)
    except IntegrityError:
        db.session.rollback()
        # Two tabs started at once: the other one created the draft.
        draft = services.find_draft(db.session, questionnaire, respondent)
        if draft is None:
            return render_error(409)
    return redirect(url_for("surveys.page", number=draft.page + 1))


@bp.route("/code", methods=["GET", "POST"])
@limit("RATELIMIT_SURVEY_CODE", LIMIT_MESSAGE)
def code():
    questionnaire = _questionnaire()
    form = forms.CodeForm()
    if form.validate_on_submit():
        try:
            access = services.redeem(db.session, form.code.data, _now())
            if access.batch.questionnaire_id != questionnaire.id:
                raise SurveyError(_("Ce code ne correspond pas à ce questionnaire."), 404)
            respondent = Respondent.of_code(access)
            draft = services.start(db.session, questionnaire, respondent, _now())
            commit()
        except SurveyError as exc:
            db.session.rollback()
            form.code.errors.append(exc.message)
            return render_template("surveys/code.html", form=form), exc.status
        except IntegrityError:
            db.session.rollback()
            form.code.errors.append(_("Ce code vient d'être utilisé dans un autre onglet."))
            return render_template("surveys/code.html", form=form), 409
        session[CODE_SESSION_KEY] = access.id
        flash(
            _(
                "Code accepté. Notez-le bien : il vous permet de reprendre vos réponses "
                "jusqu'à leur envoi."
            ),
            "success",
        )
        return redirect(url_for("surveys.page", number=draft.page + 1))
    status = 422 if request.method == "POST" else 200
    return render_template("surveys/code.html", form=form), status


@bp.route("/code/quitter", methods=["POST"])
def forget_code():
    if forms.PageForm().validate_on_submit():
        session.pop(CODE_SESSION_KEY, None)
        flash(_("Vos réponses sont gardées : saisissez le même code pour reprendre."), "info")
    return redirect(url_for("surveys.index"))


def _page_context(questionnaire, respondent, draft, number, errors=None, posted=None):
    definition = questionnaire.definition
    sections = services.pages(questionnaire, respondent, draft.answers or {})
    section = sections[number - 1]
    answers = dict(draft.answers or {})
    values = {}
    for question in section.questions:
        if posted is not None:
            values[question.code] = posted.getlist(f"q_{question.code}")
        else:
            stored = answers.get(question.code)
            if stored is None:
                values[question.code] = []
            elif isinstance(stored, list):
                values[question.code] = [str(v) for v in stored]
            else:
                values[question.code] = [str(stored)]
    earlier = {k: v for k, v in answers.items() if k not in {q.code for q in section.questions}}
    return {
        "questionnaire": questionnaire,
        "definition": definition,
        "section": section,
        "questions": services.shown_questions(section, definition, respondent.audience, answers),
        "number": number,
        "total": len(sections),
        "values": values,
        "errors": errors or {},
        "earlier_answers": engine.prune(definition, respondent.audience, earlier),
        "form": forms.PageForm(),
        "respondent": respondent,
    }


@bp.route("/page/<int:number>", methods=["GET", "POST"])
@limit("RATELIMIT_SURVEY_ANSWER_ADDRESS", LIMIT_MESSAGE)
@limit("RATELIMIT_SURVEY_ANSWER", LIMIT_MESSAGE, key_func=_participant_key)
def page(number: int):
    questionnaire = _questionnaire()
    respondent = _need_respondent(questionnaire)
    if respondent is None:
        return redirect(url_for("surveys.index"))
    draft = services.find_draft(db.session, questionnaire, respondent)
    if draft is None:
        return redirect(url_for("surveys.index"))
    sections = services.pages(questionnaire, respondent, draft.answers or {})
    if number < 1:
        abort(404)
    if number > len(sections):
        return redirect(url_for("surveys.review"))
    if request.method == "GET":
        return render_template(
            "surveys/page.html", **_page_context(questionnaire, respondent, draft, number)
        )
    if not forms.PageForm().validate_on_submit():
        abort(400)
    action = request.form.get("action")
    if action not in ACTIONS:
        action = "suivant"
    section = sections[number - 1]
    try:
        errors = services.save_page(
            db.session,
            questionnaire,
            respondent,
            draft,
            section,
            request.form,
            require_complete=action == "suivant",
            now=_now(),
        )
    except SurveyError as exc:
        return refuse(exc)
    if errors:
        db.session.rollback()
        context = _page_context(
            questionnaire, respondent, draft, number, errors=errors, posted=request.form
        )
        return render_template("surveys/page.html", **context), 422
    sections = services.pages(questionnaire, respondent, draft.answers)
    if action == "precedent":
        target = max(number - 1, 1)
    elif action == "suivant":
        target = number + 1
    else:
        target = number
    draft.page = min(target, len(sections) + 1) - 1
    commit()
    if action == "brouillon":
        flash(
            _("Brouillon enregistré. Vous pourrez reprendre où vous en étiez."),
            "success",
        )
        return redirect(url_for("surveys.index"))
    if target > len(sections):
        return redirect(url_for("surveys.review"))
    return redirect(url_for("surveys.page", number=target))


def _review_items(questionnaire, respondent, answers):
    definition = questionnaire.definition
    items = []
    for number, section in enumerate(services.pages(questionnaire, respondent, answers), 1):
        questions = [
            q
            for q in engine.visible_questions(definition, respondent.audience, answers)
            if q in section.questions
        ]
        items.append((number, section, questions))
    return items


@bp.route("/relecture", methods=["GET", "POST"])
@limit("RATELIMIT_SURVEY_ANSWER_ADDRESS", LIMIT_MESSAGE)
@limit("RATELIMIT_SURVEY_ANSWER", LIMIT_MESSAGE, key_func=_participant_key)
def review():
    questionnaire = _questionnaire()
    respondent = _need_respondent(questionnaire)
    if respondent is None:
        return redirect(url_for("surveys.index"))
    draft = services.find_draft(db.session, questionnaire, respondent)
    if draft is None:
        if respondent.user_id is not None and services.has_answered(
            db.session, questionnaire, respondent.user_id
        ):
            # Another tab has just sent the response.
            return render_error(409, _("Votre réponse a déjà été envoyée. Merci !"))
        return redirect(url_for("surveys.index"))
    form = forms.PageForm()
    answers, missing = engine.validate_all(
        questionnaire.definition, respondent.audience, draft.answers or {}
    )
    if form.validate_on_submit():
        try:
            services.submit(db.session, questionnaire, respondent, draft, _now())
            commit()
        except SurveyError as exc:
            return refuse(exc)
        except IntegrityError:
            db.session.rollback()
            return render_error(409, _("Votre réponse a déjà été envoyée. Merci !"))
        session.pop(CODE_SESSION_KEY, None)
        return redirect(url_for("surveys.thanks"))
    status = 200 if request.method == "GET" else 400
    return render_template(
        "surveys/review.html",
        questionnaire=questionnaire,
        items=_review_items(questionnaire, respondent, answers),
        answers=answers,
        missing=missing,
        form=form,
    ), status


@bp.route("/merci")
def thanks():
    return render_template("surveys/thanks.html")


# --- Access codes ---------------------------------------------------------------------------------


def _coordinated_academies() -> list[str]:
    return [code for code in catalog().academies if can(Permission.CODES_MANAGE, code)]


def _organised_events() -> list[tuple[int, str]]:
    """Recent and coming meetings the user organises, for the batch form's choice."""
    from datetime import timedelta

    from sqlalchemy import select

    from consult.db import utcnow
    from consult.territorial.models import Event
    from consult.territorial.permissions import Permission as TerritorialPermission

    now = utcnow()
    found = db.session.scalars(
        select(Event)
        .where(
            Event.starts_at >= now - timedelta(days=90),
            Event.starts_at <= now + timedelta(days=365),
        )
        .order_by(Event.starts_at.desc(), Event.id.desc())
        .limit(500)
    )
    return [
        (e.id, f"{e.title} ({e.starts_at:%d/%m/%Y})")
        for e in found
        if can(TerritorialPermission.EVENT_ORGANISE, e)
    ][:100]


def _batch_event(raw: str | None) -> int | None:
    """The chosen meeting's id: the form already restricts it to the organiser's events."""
    return int(raw) if raw and raw.isdigit() else None


@bp.route("/codes/")
def batches():
    require(Permission.CODES_MANAGE)
    user = me()
    return render_template(
        "surveys/batches.html",
        batches=services.batches_for(db.session, user, user.has_role(Role.ADMIN)),
        cat=catalog(),
        audience_label=AUDIENCE_LABELS,
        Audience=Audience,
    )


@bp.route("/codes/nouveau", methods=["GET", "POST"])
@limit("RATELIMIT_SURVEY_ANSWER_ADDRESS", LIMIT_MESSAGE)
@limit("RATELIMIT_SURVEY_ANSWER", LIMIT_MESSAGE, key_func=_participant_key)
def new_batch():
    require(Permission.CODES_MANAGE)
    questionnaire = _questionnaire()
    form = forms.BatchForm(
        _coordinated_academies(), list(questionnaire.definition.audiences), _organised_events()
    )
    if request.method == "GET" and request.args.get("evenement"):
        form.event.data = request.args["evenement"][:12]
    if form.validate_on_submit():
        require(Permission.CODES_MANAGE, form.academie.data)
        event_id = _batch_event(form.event.data)
        try:
            batch = services.create_batch(
                db.session,
                questionnaire,
                me(),
                label=form.label.data,
                audience=form.audience.data,
                academie_code=form.academie.data,
                size=form.size.data,
                valid_days=form.valid_days.data,
                now=_now(),
                event_id=event_id,
            )
            commit()
        except SurveyError as exc:
            db.session.rollback()
            form.label.errors.append(exc.message)
            return render_template("surveys/batch_new.html", form=form), exc.status
        except IntegrityError:
            db.session.rollback()
            form.label.errors.append(_("Conflit inattendu : recommencez."))
            return render_template("surveys/batch_new.html", form=form), 409
        flash(_("%(n)d codes créés.", n=batch.size), "success")
        return redirect(url_for("surveys.sheet", batch_id=batch.id))
    status = 422 if request.method == "POST" else 200
    return render_template("surveys/batch_new.html", form=form), status


@bp.route("/codes/<int:batch_id>")
def sheet(batch_id: int):
    from surveys.models import AccessCodeBatch

    batch = db.session.get(AccessCodeBatch, batch_id)
    if batch is None:
        abort(404)
    require(Permission.CODES_MANAGE, batch.academie_code)
    return render_template(
        "surveys/sheet.html",
        batch=batch,
        cat=catalog(),
        audience_label=AUDIENCE_LABELS[Audience(batch.audience)],
        format_code=services.format_code,
    )


# --- Results --------------------------------------------------------------------------------------


@bp.route("/resultats/")
def results():
    require(Permission.RESULTS_VIEW)
    questionnaire = _questionnaire()
    counts = queries.response_counts(db.session, questionnaire)
    unsuppressed = can(Permission.RESULTS_UNSUPPRESSED)
    return render_template(
        "surveys/results.html",
        questionnaire=questionnaire,
        definition=questionnaire.definition,
        counts=counts,
        total=sum(counts.values()),
        protection=disclosure.response_counts(
            counts, list(questionnaire.definition.audiences), unsuppressed
        ),
        audience_label=AUDIENCE_LABELS,
        Audience=Audience,
        unsuppressed=unsuppressed,
    )


# plotly.js (served from the installed Python package, never a CDN) writes inline styles; only
# the results pages, which show no user-written content outside tables, allow them.
RESULTS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


@bp.after_request
def _results_csp(response: Response) -> Response:
    if request.endpoint == "surveys.question_results":
        response.headers["Content-Security-Policy"] = RESULTS_CSP
    return response


@bp.route("/vendor/plotly.min.js")
def plotly_js():
    import plotly

    from consult.static_assets import send_static_compressed

    # `make assets` copies it into static/vendor with brotli/gzip variants (4.7 MB -> ~1 MB).
    built = send_static_compressed("vendor/plotly.min.js", f"public, max-age={365 * 24 * 3600}")
    if built is not None:
        return built
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return send_file(path, mimetype="text/javascript", max_age=365 * 24 * 3600)


def _chart(results: queries.QuestionResults, protection: disclosure.Protection) -> dict | None:
    """Shares per audience for the optional chart; the same figures as the table, with the
    same protection (a share whose count or base is hidden is left out of the chart too)."""
    if results.question.type == "number" or not results.overall.respondents:
        return None
    series = []
    for audience, split in sorted(results.by_audience.items()):
        values = []
        for key, _label in results.keys:
            visible = not (
                protection.hidden(("c", key, audience)) or protection.hidden(("r", audience))
            )
            count = protection.figure(("c", key, audience), split.counts[key])
            base = protection.figure(("r", audience), split.respondents)
            values.append(round(100 * count / base, 1) if visible and base else None)
        series.append({"name": str(AUDIENCE_LABELS[Audience(audience)]), "values": values})
    return {"labels": [str(label) for _key, label in results.keys], "series": series}


@bp.route("/resultats/<code>")
def question_results(code: str):
    require(Permission.RESULTS_VIEW)
    questionnaire = _questionnaire()
    definition = questionnaire.definition
    if not definition.has_question(code):
        abort(404)
    question = definition.question(code)
    context = {
        "questionnaire": questionnaire,
        "question": question,
        "section": definition.section_of(code),
        "cat": catalog(),
        "audience_label": AUDIENCE_LABELS,
        "Audience": Audience,
        "unsuppressed": can(Permission.RESULTS_UNSUPPRESSED),
    }
    if question.is_free_text:
        if not can(Permission.EXPORT):
            abort(403)
        search = (request.args.get("q") or "").strip()[:100]
        page_number = bounded_int(request.args.get("page"), 1, maximum=10_000)
        rows, total = queries.free_text(
            db.session, questionnaire, question, search=search, page=page_number
        )
        return render_template(
            "surveys/free_text.html",
            rows=rows,
            total=total,
            search=search,
            page_number=page_number,
            pages=max(1, (total + 49) // 50),
            **context,
        )
    results = queries.question_results(db.session, questionnaire, question)
    protection = disclosure.question(
        results,
        context["unsuppressed"],
        queries.response_counts(db.session, questionnaire),
        list(definition.audiences),
        queries.response_counts_by_academie(db.session, questionnaire),
    )
    return render_template(
        "surveys/question_results.html",
        results=results,
        protection=protection,
        chart=_chart(results, protection),
        **context,
    )


# --- Exports -------------------------------------------------------------------------------------


def _download(stream, filename: str, mimetype: str) -> Response:
    response = Response(stream_with_context(stream), content_type=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/export/reponses.<fmt>")
def export(fmt: str):
    require(Permission.EXPORT)
    if fmt not in exports.FORMATS:
        abort(404)
    questionnaire = _questionnaire()
    delimiter = csvout.separator(request.args)
    stream = exports.build(db.session, questionnaire, fmt, delimiter)
    return _download(stream, f"{questionnaire.slug}-reponses.{fmt}", exports.FORMATS[fmt])


@bp.route("/export/codebook.csv")
def codebook():
    require(Permission.EXPORT)
    questionnaire = _questionnaire()
    delimiter = csvout.separator(request.args)
    return _download(
        exports.codebook_csv(questionnaire.definition, delimiter),
        f"{questionnaire.slug}-codebook.csv",
        exports.FORMATS["csv"],
    )


# --- Definition (admins, until the questionnaire opens) -----------------------------------------


@bp.route("/definition", methods=["GET", "POST"])
def definition():
    require(Permission.DEFINITION_EDIT)
    import json

    questionnaire = _questionnaire()
    form = forms.DefinitionForm(
        data=None
        if request.method == "POST"
        else {"definition": json.dumps(questionnaire.definition_data, ensure_ascii=False, indent=1)}
    )
    opened = questionnaire.has_opened(_now())
    if form.validate_on_submit():
        try:
            parsed = engine.parse(json.loads(form.definition.data))
            if parsed.slug != questionnaire.slug:
                raise engine.DefinitionError(_("Le code du questionnaire ne peut pas changer."))
            services.load_definition(db.session, parsed, _now())
            commit()
        except (ValueError, engine.DefinitionError) as exc:
            db.session.rollback()
            form.definition.errors.append(str(exc)[:500])
            return render_template(
                "surveys/definition.html", form=form, questionnaire=questionnaire, opened=opened
            ), 422
        except SurveyError as exc:
            db.session.rollback()
            form.definition.errors.append(exc.message)
            return render_template(
                "surveys/definition.html", form=form, questionnaire=questionnaire, opened=opened
            ), exc.status
        flash(_("Définition enregistrée."), "success")
        return redirect(url_for("surveys.definition"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "surveys/definition.html", form=form, questionnaire=questionnaire, opened=opened
    ), status
