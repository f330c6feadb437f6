"""One blueprint for /syntheses/ and /resultats/: the navigation links ``synthesis.index`` and
``synthesis.results``; the views live in ``views.py`` and ``results_views.py``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("synthesis", __name__)
