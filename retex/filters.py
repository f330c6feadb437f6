"""Template helpers: labels for stored codes and the rendered Markdown of a sheet."""

from __future__ import annotations

from flask import Flask

from consult.models import AUDIENCE_PLURALS, Audience
from consult.text import render_markdown
from retex import models
from retex.permissions import Permission
from retex.services import territory_name

LABELS = {
    "theme": models.THEMES,
    "establishment": models.ESTABLISHMENTS,
    "school_level": models.SCHOOL_LEVELS,
    "period": models.PERIODS,
    "audience": {a.value: AUDIENCE_PLURALS[a] for a in Audience},
}


def register(app: Flask) -> None:
    @app.template_global()
    def retex_label(kind: str, code: str | None) -> str:
        return str(LABELS[kind].get(code or "", code or "–"))

    @app.template_global()
    def retex_territory(level: str, code: str) -> str:
        return territory_name(level, code)

    @app.template_global()
    def retex_markdown(source: str | None):
        return render_markdown(source)

    app.jinja_env.globals["retex_text_fields"] = models.TEXT_FIELDS
    app.jinja_env.globals["RetexPermission"] = Permission
