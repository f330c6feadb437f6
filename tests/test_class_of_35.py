"""A class of 35 behind one school address registers, logs in and takes the questionnaire with
access codes within minutes, under the production limits (on the in-memory store and on Redis),
while guessing one account's password stays stopped: 5 wrong passwords per account, from any
address, then a French refusal."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import func, select

from consult.config import from_environment
from consult.db import utcnow
from consult.extensions import limiter
from consult.models import User
from surveys import services as surveys
from tests.conftest import Client, make_test_app
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.surveys_factories import load_small, user_with_role

CLASS_SIZE = 35
SCHOOL = "203.0.113.7"  # one address for the whole school (NAT)
PASSWORD = "des craies et des tablettes"
# The production limits, not the suite's generous ones.
PRODUCTION_LIMITS = (
    "RATELIMIT_LOGIN",
    "RATELIMIT_REGISTER",
    "RATELIMIT_LOGIN_ACCOUNT",
)


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch) -> None:
    """Seventy argon2 hashes at production cost would be most of the time on a shared
    machine; the limits, not the hashing, are under test here."""
    from argon2 import PasswordHasher

    from consult import security

    monkeypatch.setattr(
        security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture(params=["memory", "redis"])
def school_app(request, database_url):
    if request.param == "redis":
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            if os.environ.get("CI") and not os.environ.get("CONSULT_SQLITE_PASS"):
                # CI's PostgreSQL pass sets REDIS_URL: its absence there is a broken run.
                pytest.fail("CI without REDIS_URL: the limits on Redis would go untested")
            pytest.skip("needs Redis: set REDIS_URL")
        storage = redis_url
    else:
        storage = "memory://"
    defaults = from_environment()
    # Flask-Limiter keeps its store on the one module-level limiter: put the suite's back after.
    saved = limiter._storage, limiter._limiter
    app = make_test_app(
        database_url,
        RATELIMIT_STORAGE_URI=storage,
        RATELIMIT_KEY_PREFIX=f"consult-class-{uuid.uuid4().hex[:8]}",
        **{key: defaults[key] for key in PRODUCTION_LIMITS},
    )
    app.test_client_class = Client
    with app.app_context():
        limiter.reset()
    try:
        yield app
    finally:
        with app.app_context():
            limiter.reset()
        limiter._storage, limiter._limiter = saved


def _pupil(app, address: str = SCHOOL) -> Client:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _registration(n: int) -> dict:
    return {
        "pseudonym": f"Pupitre{n:02d}",
        "email": f"eleve{n:02d}@college-test.fr",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "audience": "eleve",
        "school_level": "college",
        "academie": "13",
        "departement": "86",
        "accept_terms": "y",
    }


def test_a_class_of_35_registers_and_logs_in_from_one_address(school_app, session) -> None:
    statuses = []
    for n in range(CLASS_SIZE):
        pupil = _pupil(school_app)
        statuses.append(pupil.submit("/compte/inscription", _registration(n)).status_code)
    assert statuses == [302] * CLASS_SIZE
    emails = [_registration(n)["email"] for n in range(CLASS_SIZE)]
    assert session.scalar(select(func.count()).where(User.email.in_(emails))) == CLASS_SIZE
    # Next lesson: everyone logs in again, a few after a typo.
    statuses = []
    for n, email in enumerate(emails):
        pupil = _pupil(school_app)
        if n % 5 == 0:
            pupil.submit("/compte/connexion", {"email": email, "password": "mauvais mot"})
        statuses.append(
            pupil.submit("/compte/connexion", {"email": email, "password": PASSWORD}).status_code
        )
    assert statuses == [302] * CLASS_SIZE


def test_the_sixth_wrong_password_is_refused_from_any_address(school_app, session) -> None:
    target = UserFactory()
    bystander = UserFactory()
    session.flush()
    wrong = {"email": target.email, "password": "essai au hasard"}
    for attempt in range(5):
        guesser = _pupil(school_app, f"198.51.100.{attempt + 1}")
        assert guesser.submit("/compte/connexion", wrong).status_code == 422
    elsewhere = _pupil(school_app, "192.0.2.200")
    refused = elsewhere.submit("/compte/connexion", wrong)
    assert refused.status_code == 429
    assert "Trop de tentatives de connexion pour ce compte" in refused.get_data(as_text=True)
    # Even the right password waits: the guesser cannot tell it found it.
    right = {"email": target.email.upper(), "password": DEFAULT_PASSWORD}
    assert _pupil(school_app, "192.0.2.201").submit("/compte/connexion", right).status_code == 429
    # Nobody else is locked out, not even from the guesser's address.
    other = {"email": bystander.email, "password": DEFAULT_PASSWORD}
    assert _pupil(school_app, "198.51.100.1").submit("/compte/connexion", other).status_code == 302


def test_an_unknown_address_is_throttled_the_same_way(school_app) -> None:
    """Same answers whether or not an account exists: nothing to enumerate."""
    wrong = {"email": "personne@exemple.test", "password": "essai au hasard"}
    statuses = [
        _pupil(school_app, f"198.51.100.{i}").submit("/compte/connexion", wrong).status_code
        for i in range(6)
    ]
    assert statuses == [422] * 5 + [429]


HOSTILE_LOGINS = [
    {"email": "a" * 10_000 + "@exemple.test", "password": "x"},
    {"email": "nul\x00@exemple.test", "password": "x\x00y"},
    {"email": "élève@exemple.test", "password": "🙂" * 500},
    {"email": "", "password": ""},
    {"email": "x@y.z\r\nBcc: autre@exemple.test", "password": "x"},
]


@pytest.mark.parametrize("data", HOSTILE_LOGINS, ids=range(len(HOSTILE_LOGINS)))
def test_hostile_login_input_is_refused_cleanly(school_app, data) -> None:
    for _ in range(7):
        response = _pupil(school_app).submit("/compte/connexion", data)
        assert response.status_code in (400, 413, 422, 429), response.status_code


def test_a_class_takes_the_questionnaire_with_codes_from_one_address(
    school_app, session, monkeypatch
) -> None:
    questionnaire = load_small(session)
    monkeypatch.setitem(school_app.config, "SURVEY_SLUG", questionnaire.slug)
    coordinator = user_with_role("coordinator", "academie", "13")
    batch = surveys.create_batch(
        session,
        questionnaire,
        coordinator,
        label="3e B",
        audience="eleve",
        academie_code="13",
        size=CLASS_SIZE,
        valid_days=10,
        now=utcnow(),
    )
    statuses = []
    for access in batch.codes:
        pupil = _pupil(school_app)
        code = surveys.format_code(access.code)
        # One typo each, then the right code; then the first page, saved as a draft.
        pupil.submit("/questionnaire/code", {"code": "ZZZZ-ZZZZ-ZZ"})
        entered = pupil.submit("/questionnaire/code", {"code": code})
        assert entered.status_code == 302, entered.get_data(as_text=True)[-3000:]
        statuses.append(entered.status_code)
        statuses.append(
            pupil.submit(
                "/questionnaire/page/1",
                {"action": "brouillon", "q_Q1": "oui", "q_Q2": "2", "q_Q3": "a"},
            ).status_code
        )
    assert 429 not in statuses and max(statuses) < 500, statuses


def test_a_reset_password_lets_a_locked_out_owner_back_in(school_app, session) -> None:
    import re

    target = UserFactory()
    session.flush()
    outbox = school_app.extensions.setdefault("consult_outbox", [])
    wrong = {"email": target.email, "password": "essai au hasard"}
    for attempt in range(6):
        _pupil(school_app, f"198.51.100.{attempt + 1}").submit("/compte/connexion", wrong)
    owner = _pupil(school_app, "192.0.2.50")
    right = {"email": target.email, "password": DEFAULT_PASSWORD}
    assert owner.submit("/compte/connexion", right).status_code == 429
    assert owner.submit("/compte/mot-de-passe-oublie", {"email": target.email}).status_code == 302
    link = re.search(r"http://localhost(/compte/reinitialiser/\S+)", outbox[-1].get_content())
    new = "un tout nouveau secret"
    response = owner.submit(link.group(1), {"password": new, "password_confirm": new})
    assert response.status_code == 302
    again = owner.submit("/compte/connexion", {"email": target.email, "password": new})
    assert again.status_code == 302
