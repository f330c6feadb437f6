"""Public participation counters for the home page, cached for a short while."""

from __future__ import annotations

from typing import Any

from flask import current_app

from consult.cache import cached_json
from consult.db import db
from consult.hooks import hooks
from consult.models import Audience

CACHE_KEY = "counters:participation"


def compute() -> dict[str, Any]:
    from consult.accounts.services import count_participants

    by_audience = count_participants(db.session)
    totals: dict[str, int] = {"participants": sum(by_audience.values())}
    for contribute in hooks().counters:
        totals.update(contribute())
    return {
        "totals": totals,
        "by_audience": {a.value: by_audience.get(a.value, 0) for a in Audience},
    }


def participation() -> dict[str, Any]:
    ttl = current_app.config["COUNTERS_CACHE_SECONDS"]
    if ttl <= 0:
        return compute()
    return cached_json(CACHE_KEY, ttl, compute)
