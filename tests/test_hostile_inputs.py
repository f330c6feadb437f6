"""Hostile inputs on every route: no 500, and nothing saved before is lost.

The corpus walks ``app.url_map`` itself, so a route added tomorrow is attacked too:
- every GET route with hostile path parameters (numbers beyond the id range, NUL bytes, markup,
  right-to-left override, emoji, long strings) and, with plausible path parameters, hostile values
  in every query parameter the code reads (names found by scanning the sources);
- every POST route as a logged-in administrator (who may reach every form) with every form field
  seen on the site set to each hostile value, a valid CSRF token included so the forms' own
  validation runs.
A witness set of content the walk never names must come out of it intact.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from consult.extensions import login_manager
from consult.models import User
from consult.territorial.models import Event, EventRegistration, IdeaSupport
from forums.models import Comment, Contribution, Vote
from tests.conftest import Client
from tests.factories import RoleGrantFactory, UserFactory
from tests.forums_factories import TEACHING, CommentFactory, ContributionFactory, first_subtheme
from tests.territorial_factories import EventFactory, IdeaFactory, NewsFactory

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("consult", "forums", "surveys", "retex", "synthesis")

HUGE_NUMBER = "9" * 30  # 10**30 - 1: beyond any 64-bit integer
MEGABYTE = "é" * (512 * 1024)  # 1 MB once UTF-8 encoded
# Markup, a right-to-left override and emoji in one value: each is text a form must take or refuse.
MIXED_TEXT = '<script>alert("x")</script>"\'><img src=x> \u202egnp.exe\u202c 😀👩🏽‍🏫🇫🇷'
# Every field of every form gets the value at once, so "long" stays under the URL-encoded body
# bound (2 MiB) for the forms' own validators to answer; the megabyte goes in one field apart.
HOSTILE_VALUES = {
    "nul": "avant\x00après",
    "long": "x" * 30_000,
    "text": MIXED_TEXT,
    "huge-int": HUGE_NUMBER,
    "int32": "2147483648",  # fits SQLite's integers, not PostgreSQL's INTEGER columns
    "negative": "-1",
    "superscript": "²",
    "empty": "",
}
# Query strings travel in a URL: a megabyte there is refused by any web server before the app.
QUERY_VALUES = {**HOSTILE_VALUES, "long": "x" * 8000, "float": "1e309"}
PATH_INT_VALUES = [HUGE_NUMBER, "9223372036854775808", "2147483648"]
PATH_STRING_VALUES = ["a%00b", "%3Cscript%3E%E2%80%AE%F0%9F%98%80", "x" * 300]
ARG_NAME = re.compile(r"""args\.get\(\s*["']([^"']+)["']""")
PATH_PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
FIELD_NAME = re.compile(r"""<(?:input|textarea|select)\b[^>]*\bname="([^"]+)\"""")


def _query_parameter_names() -> set[str]:
    names = {"page", "tri", "q", "apres", "avant", "limit", "cursor", "next", "format", "lang"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            names.update(ARG_NAME.findall(path.read_text(encoding="utf-8")))
    return names


def _sign_in(app: Flask, client: Client, user: User, address: str) -> str:
    """Log ``user`` in on ``client`` as seen from ``address``; returns a CSRF token.

    A fresh address for each request keeps the per-address rate limits (not the subject here)
    from turning the rest of the walk into 429s."""
    client.environ_base["REMOTE_ADDR"] = address
    with app.test_request_context(environ_base=client.environ_base):
        identifier = login_manager._session_identifier_generator()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
        sess["_id"] = identifier
        raw = sess.setdefault("csrf_token", secrets.token_hex(20))
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def _addresses():
    n = 0
    while True:
        n += 1
        yield f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def _plausible(rule: str, name: str, ids: dict[str, int]) -> str:
    if name in ids:
        return str(ids[name])
    if name == "slug":
        if rule.startswith("/forums/"):
            return TEACHING
        return "toulouse"
    return {
        "kind": "contribution",
        "code": "16",
        "key": "nationale",
        "fmt": "csv",
        "ident": "16",
        "table": "participation",
        "name": "participation",
        "filename": "css/app.css",
        "token": "jeton",
        "number": "1",
        "version": "1",
    }.get(name, "1")


def _parameters(rule) -> dict[str, str]:
    """The path's parameters and their converters (defaults of the rule are not in the path)."""
    return {name: converter or "default" for converter, name in PATH_PARAMETER.findall(rule.rule)}


def _build(rule, values: dict[str, str]) -> str:
    return PATH_PARAMETER.sub(lambda m: values[m.group(2)], rule.rule)


def _world(session) -> tuple[User, dict[str, int], dict]:
    """An administrator, objects the walk may act on, and a witness set it never names."""
    admin = UserFactory(academie_code="16", pseudonym="Admin<b>hostile")
    RoleGrantFactory(user=admin, role="admin", scope_kind="national", scope_code="")
    target_user = UserFactory(academie_code="16")
    grant = RoleGrantFactory(user=target_user, role="moderator")
    contribution = ContributionFactory(author=admin)
    idea = IdeaFactory(author=admin)
    event = EventFactory()
    news = NewsFactory()
    ids = {
        "contribution_id": contribution.id,
        "target_id": contribution.id,
        "idea_id": idea.id,
        "event_id": event.id,
        "news_id": news.id,
        "user_id": target_user.id,
        "grant_id": grant.id,
    }
    # The witness: someone else's contribution with votes and a comment, a supported idea, an
    # event with a registration.
    owner = UserFactory(academie_code="16")
    voter = UserFactory(academie_code="16")
    kept = ContributionFactory(author=owner, title="Témoin à garder")
    session.add(
        Vote(
            contribution_id=kept.id,
            user_id=voter.id,
            value="adopt",
            author_audience=voter.audience,
            author_academie_code=voter.academie_code,
        )
    )
    kept.adopt_count = 1
    CommentFactory(author=voter, contribution=kept, body="Commentaire témoin")
    kept_idea = IdeaFactory(author=owner, title="Idée témoin")
    session.add(
        IdeaSupport(
            idea_id=kept_idea.id,
            user_id=voter.id,
            author_audience=voter.audience,
            author_academie_code=voter.academie_code,
        )
    )
    kept_idea.support_count = 1
    kept_event = EventFactory(title="Événement témoin")
    session.add(
        EventRegistration(
            event_id=kept_event.id,
            user_id=voter.id,
            author_audience=voter.audience,
            author_academie_code=voter.academie_code,
        )
    )
    kept_event.registered_count = 1
    session.flush()
    witness = {
        "contribution": kept.id,
        "idea": kept_idea.id,
        "event": kept_event.id,
        "users": (owner.id, voter.id, admin.id),
    }
    return admin, ids, witness


def _witness_state(session, witness: dict) -> dict:
    from consult.territorial.models import Idea

    contribution = session.get(Contribution, witness["contribution"])
    idea = session.get(Idea, witness["idea"])
    event = session.get(Event, witness["event"])
    return {
        "contribution": (contribution.title, contribution.body, contribution.adopt_count),
        "votes": session.scalar(
            select(func.count()).where(Vote.contribution_id == witness["contribution"])
        ),
        "comments": session.scalar(
            select(func.count()).where(Comment.contribution_id == witness["contribution"])
        ),
        "idea": (idea.title, idea.support_count),
        "supports": session.scalar(
            select(func.count()).where(IdeaSupport.idea_id == witness["idea"])
        ),
        "event": (event.title, event.registered_count),
        "registrations": session.scalar(
            select(func.count()).where(EventRegistration.event_id == witness["event"])
        ),
        "users": session.scalar(select(func.count()).where(User.id.in_(witness["users"]))),
    }


class _Walker:
    """Sends requests as the administrator, each from a fresh address, and notes every 5xx.

    An exception escaping a request (the test client re-raises what the app cannot answer) is a
    failure too; the walk stops there since the request's transaction may be gone."""

    def __init__(self, app: Flask, client: Client, admin: User) -> None:
        self.app, self.client, self.admin = app, client, admin
        self.addresses = _addresses()
        self.failures: list[str] = []
        self.trace = bool(os.environ.get("HOSTILE_TRACE"))  # prints each request, for debugging

    def send(self, method: str, url: str, label: str, **kw: Any) -> Any:
        token = _sign_in(self.app, self.client, self.admin, next(self.addresses))
        if method == "POST":
            kw["data"] = {**kw.get("data", {}), "csrf_token": token}
        if self.trace:
            print(method, url[:120], label, file=sys.stderr, flush=True)
        try:
            response = self.client.open(url, method=method, **kw)
        except Exception as error:
            self.failures.append(f"exception {method} {url} {label}: {error!r}"[:500])
            raise _Stop from error
        # File responses (plotly.js, attachments) hold the file open until closed.
        response.close()
        if response.status_code >= 500:
            self.failures.append(f"{response.status_code} {method} {url} {label}")
        return response


class _Stop(Exception):
    pass


def _rules(app: Flask, method: str) -> list:
    last = {"account.logout", "account.delete"}  # POSTed last: they end the session
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static" and method in r.methods]
    return sorted(rules, key=lambda r: (r.endpoint in last, r.rule))


def test_no_page_answers_500_to_hostile_paths_or_query_strings(app, client, session) -> None:
    admin, ids, witness = _world(session)
    session.commit()
    before = _witness_state(session, witness)
    walker = _Walker(app, client, admin)
    query_names = sorted(_query_parameter_names())
    try:
        for rule in _rules(app, "GET"):
            parameters = _parameters(rule)
            plausible = {name: _plausible(rule.rule, name, ids) for name in parameters}
            for name, converter in parameters.items():
                for value in PATH_INT_VALUES if converter == "int" else PATH_STRING_VALUES:
                    walker.send("GET", _build(rule, {**plausible, name: value}), "path")
            base = _build(rule, plausible)
            walker.send("GET", base, "")
            if base.startswith("/api/"):
                continue  # the API's own parameters (cursors, limits) have their corpus there
            for label, value in QUERY_VALUES.items():
                query = dict.fromkeys(query_names, value)
                walker.send("GET", base, f"?…={label}", query_string=query)
    except _Stop:
        pass
    assert not walker.failures, "\n".join(walker.failures)
    session.expire_all()
    assert _witness_state(session, witness) == before


def test_no_form_answers_500_to_hostile_values_and_nothing_is_lost(
    app, client, session, monkeypatch
) -> None:
    # The recompilation form is what is attacked here, not the compilation job it queues.
    monkeypatch.setattr("synthesis.tasks.submit_compilation", lambda *_args, **_kw: None)
    admin, ids, witness = _world(session)
    session.commit()
    before = _witness_state(session, witness)
    walker = _Walker(app, client, admin)
    # Every field name of every form the administrator is shown.
    fields: set[str] = set()
    for rule in _rules(app, "GET"):
        if not rule.rule.startswith("/api/"):
            parameters = _parameters(rule)
            url = _build(rule, {n: _plausible(rule.rule, n, ids) for n in parameters})
            page = walker.send("GET", url, "")
            if page.mimetype == "text/html":
                fields.update(FIELD_NAME.findall(page.get_data(as_text=True)))
    fields -= {"csrf_token"}
    assert {"title", "body"} <= fields
    try:
        for rule in _rules(app, "POST"):
            parameters = _parameters(rule)
            plausible = {name: _plausible(rule.rule, name, ids) for name in parameters}
            url = _build(rule, plausible)
            for label, value in HOSTILE_VALUES.items():
                walker.send("POST", url, label, data=dict.fromkeys(fields, value))
            walker.send("POST", url, "megabyte", data={"body": MEGABYTE, "title": "Titre"})
            for name, converter in parameters.items():
                if converter == "int":
                    walker.send("POST", _build(rule, {**plausible, name: HUGE_NUMBER}), "id")
    except _Stop:
        pass
    assert not walker.failures, "\n".join(walker.failures)
    session.expire_all()
    assert _witness_state(session, witness) == before


# --- The faults the corpus found, one by one ----------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/forums/contributions/99999999999999999999999",
        "/forums/contributions/9223372036854775808",
        "/forums/contributions/2147483648",
        "/questionnaire/codes/2147483648",
        "/territoires/evenements/99999999999999999999999",
        "/territoires/idees/99999999999999999999999",
        "/retex/99999999999999999999999",
        "/questionnaire/page/99999999999999999999999",
    ],
)
def test_a_number_beyond_the_id_range_in_a_path_is_404(client, url) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)


def test_the_largest_id_is_a_plain_404_too(client) -> None:
    assert client.get(f"/forums/contributions/{2**31 - 1}").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/forums/recherche?q=a%00b",
        "/forums/recherche?q%00=1",
        "/territoires/%00/",
        "/api/v1/contributions?theme=a%00",
    ],
)
def test_a_nul_byte_in_the_address_is_a_french_400(client, url) -> None:
    response = client.get(url)
    assert response.status_code == 400
    if url.startswith("/api/"):
        assert "caractère nul" in response.get_json()["error"]["message"]
    else:
        assert "caractère nul" in response.get_data(as_text=True)


def test_a_nul_byte_in_a_form_is_a_french_400_and_nothing_is_saved(client, session) -> None:
    client.login(UserFactory().email)
    response = client.submit(
        f"/forums/{TEACHING}/contribuer",
        {"subtheme": str(first_subtheme().id), "title": "Titre\x00", "body": "Corps"},
    )
    assert response.status_code == 400
    assert "caractère nul" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Contribution)) == 0


def test_a_megabyte_field_is_refused_in_french(client, session) -> None:
    client.login(UserFactory().email)
    response = client.submit(
        f"/forums/{TEACHING}/contribuer",
        {"subtheme": str(first_subtheme().id), "title": "Titre", "body": MEGABYTE},
    )
    assert response.status_code == 413
    assert "dépasse la taille autorisée" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Contribution)) == 0


@pytest.mark.parametrize("value", ["²", "-5", HUGE_NUMBER, "2147483648", "1e309", "", "abc"])
def test_malformed_page_numbers_fall_back_to_the_first_page(client, session, value) -> None:
    admin = UserFactory()
    RoleGrantFactory(user=admin, role="admin", scope_kind="national", scope_code="")
    client.login(admin.email)
    # The forums' search box leads to the site's search, which reads the page number.
    query = {"q": "x", "page": value}
    assert client.get("/forums/recherche", query_string=query).status_code == 301
    assert client.get("/recherche", query_string=query).status_code == 200
    assert client.get("/admin/journal", query_string={"avant": value}).status_code == 200


@pytest.mark.parametrize("value", ["²", HUGE_NUMBER, "2147483648", "-3"])
def test_malformed_ids_in_forum_filters_and_replies_are_ignored(client, session, value) -> None:
    contribution = ContributionFactory()
    client.login(UserFactory().email)
    assert client.get(f"/forums/{TEACHING}/", query_string={"sous_theme": value}).status_code == 200
    page = f"/forums/contributions/{contribution.id}"
    assert client.get(page, query_string={"repondre": value}).status_code == 200
    response = client.submit(
        f"{page}/commentaires",
        {"polarity": "pour", "body": "Une réponse", "parent": value},
        page=page,
    )
    assert response.status_code in {404, 422}  # no such comment / longer than any id field
    assert session.scalar(select(func.count()).select_from(Comment)) == 0
