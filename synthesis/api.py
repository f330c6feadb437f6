"""Placeholder module while issue 6 is being built; replaced by its owner."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("synthesis_api", __name__, url_prefix="/api/v1")
