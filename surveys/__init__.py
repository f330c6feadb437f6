"""The five-audience questionnaire: conditional engine, anonymous responses, access codes,
analyst results and streaming exports."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from consult.db import db
from consult.hooks import hooks


def _counters() -> dict[str, int]:
    from surveys.models import SurveyResponse

    return {"survey_responses": db.session.scalar(select(func.count(SurveyResponse.id))) or 0}


def init_app(app: Flask) -> None:
    from surveys import cli, demo, services, views
    from surveys import permissions as _permissions

    app.config.setdefault("SURVEY_SLUG", services.DEFAULT_SLUG)
    app.config.setdefault("RATELIMIT_SURVEY_ANSWER", "120 per minute")
    # Codes are short: guessing is throttled hard per client address.
    app.config.setdefault("RATELIMIT_SURVEY_CODE", "10 per minute;60 per hour")
    app.register_blueprint(views.bp)
    cli.init_app(app)

    registry = hooks(app)
    registry.counters.append(_counters)
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
