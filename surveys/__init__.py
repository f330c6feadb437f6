"""The five-audience questionnaire: conditional engine, anonymous responses, access codes,
analyst results and streaming exports."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from consult.db import db
from consult.hooks import StaffLink, hooks


def _register_synthesis() -> None:
    """Questionnaire responses as a participation indicator: each response is one person,
    detached from any account (never merged into « participants »)."""
    from consult import synthesis_registry as registry

    registry.register_activity(
        registry.Activity(
            "survey_responses",
            lambda s: (
                "SELECT NULL AS user_id, r.author_academie_code AS academie_code, "
                "r.author_audience AS audience, r.submitted_at AS at FROM survey_response r"
            ),
            _l("réponses au questionnaire"),
            accounts=False,
            position=70,
        )
    )


def init_app(app: Flask) -> None:
    from consult import pagecache
    from surveys import cli, demo, services, views
    from surveys import permissions as _permissions
    from surveys.models import SurveyDraft, SurveyParticipation, SurveyResponse

    # Answers reach public pages only through compiled syntheses (their own writes).
    pagecache.quiet(SurveyResponse, SurveyParticipation, SurveyDraft)

    app.config.setdefault("SURVEY_SLUG", services.DEFAULT_SLUG)
    # Per participant (account or access code): a class answering together from one school
    # address must not share one budget; the per-address ceiling only stops floods.
    app.config.setdefault("RATELIMIT_SURVEY_ANSWER", "120 per minute")
    app.config.setdefault("RATELIMIT_SURVEY_ANSWER_ADDRESS", "1500 per minute")
    # Codes: 31^10 (8e14) possibilities, so a generous per-address ceiling still makes guessing
    # hopeless (600 tries an hour against a million live codes: about one hit per address in
    # 150 years, and a hit only answers one questionnaire anonymously), while 35 pupils of a
    # class type theirs in, typos included, within minutes.
    app.config.setdefault("RATELIMIT_SURVEY_CODE", "120 per minute;600 per hour")
    app.register_blueprint(views.bp)
    cli.init_app(app)

    _register_synthesis()
    registry = hooks(app)
    registry.staff_nav.extend(
        [
            StaffLink(
                _l("Codes d'accès"), "surveys.batches", _permissions.Permission.CODES_MANAGE, 20
            ),
            StaffLink(
                _l("Résultats du questionnaire"),
                "surveys.results",
                _permissions.Permission.RESULTS_VIEW,
                30,
            ),
        ]
    )
    # No live counter: respondents are people, whose figures the home page reads only from the
    # compiled (protected) participation table (consult/counters.py drops live ones).
    registry.counter_labels["survey_responses"] = _l("réponses au questionnaire")
    registry.personal_data.append(services.personal_data)
    registry.account_deletion.append(services.erase_account)
    registry.demo_steps.append(("questionnaire", demo.generate))
    registry.account_panels.append("surveys/_account_panel.html")
    registry.event_panels.append("surveys/_event_panel.html")

    @app.template_global()
    def survey_event_batches(event_id: int) -> list:
        return services.event_batches(db.session, event_id)

    @app.context_processor
    def _survey_permissions() -> dict:
        # Named apart from the core ``Permission`` the layout uses.
        return {"SurveyPermission": _permissions.Permission}

    @app.template_global()
    def survey_account_status(user) -> str | None:
        """'answered', 'draft', 'todo' or None (no questionnaire, or no track for the user)."""
        questionnaire = services.current_questionnaire(db.session, app.config["SURVEY_SLUG"])
        if questionnaire is None or user.audience not in questionnaire.definition.audiences:
            return None
        if services.has_answered(db.session, questionnaire, user.id):
            return "answered"
        respondent = services.Respondent.of_user(user)
        if services.find_draft(db.session, questionnaire, respondent) is not None:
            return "draft"
        return "todo"
