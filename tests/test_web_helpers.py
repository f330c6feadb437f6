"""The shared web helpers (consult/web.py): redirect targets, trusted hosts, absolute links built
on SITE_URL, bounded caches, and the guarantee that no package re-declares them."""

from __future__ import annotations

import ast
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from consult.cache import MemoryCache
from consult.config import ROOT
from consult.models import AuditEvent
from consult.web import ConsultError, audit, safe_next
from tests.factories import DEFAULT_PASSWORD, RoleGrantFactory, UserFactory
from tests.forums_factories import ContributionFactory

SITE = "localhost"  # the test client's host, and SITE_URL's in testing

# Every one of these must be refused as a redirect target.
HOSTILE_NEXT = [
    "//evil.example",
    "//evil.example/path?x=1",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example",
    "http://evil.example/",
    "http:evil.example",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "java\nscript:alert(1)",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/\t/evil.example",
    "/\t/evil",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "%2F%2Fevil.example",
    "/%252F%252Fevil.example",
    "/%5Cevil.example",
    "/%5C%5Cevil.example",
    "/ok\nLocation: https://evil.example",
    "/ok\r\nSet-Cookie: pirate=1",
    "/ok\r",
    "/%0d%0aLocation:%20https://evil.example",
    "/\x00/evil.example",
    " //evil.example",
    "/ /evil.example",
    "\uff0f\uff0fevil.example",
    "/\uff0fevil.example",
    "/\u2215evil.example",
    "/\u2044evil.example",
    "/\uff3cevil.example",
    "/\u3000/evil.example",
    "/\u200b/evil.example",
    "/\u2028/evil.example",
    "evil.example",
    "",
    "/" + "a" * 600,
]
SAFE_NEXT = ["/", "/forums/", "/forums/contributions/3?tri=recent#c-2", "/territoires/académie"]


def _browser_targets(location: str) -> list[str]:
    """What a lenient browser could make of a Location: tabs and newlines dropped, backslashes
    as slashes, Unicode look-alikes normalised, percent-decoding once or twice."""
    variants = {location, unquote(location), unquote(unquote(location))}
    out = []
    for variant in variants:
        v = unicodedata.normalize("NFKC", variant)
        v = re.sub(r"[\t\n\r]", "", v).replace("\\", "/").lstrip(" \x00")
        out.append(v)
    return out


def assert_on_site(response) -> None:
    assert response.status_code < 500, response.status_code
    if response.status_code not in (301, 302, 303, 307, 308):
        return
    location = response.headers["Location"]
    assert not re.search(r"[\x00-\x1f\x7f]", location), location
    for target in _browser_targets(location):
        parts = urlsplit(urljoin(f"http://{SITE}/", target))
        assert parts.netloc == SITE and parts.scheme == "http", (location, target)


# --- The rule itself ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_safe_next_refuses_every_hostile_target(target) -> None:
    assert safe_next(target) is None


@pytest.mark.parametrize("target", SAFE_NEXT)
def test_safe_next_keeps_site_paths(target) -> None:
    assert safe_next(target) == target


# --- Every route that takes a next ---------------------------------------------------------------


def test_login_never_redirects_off_site(client, user, monkeypatch) -> None:
    from consult.accounts import services

    # Forty password hashes would dominate the run; the redirect is what is under test.
    monkeypatch.setattr(services, "authenticate", lambda session, email, password: user)
    for target in HOSTILE_NEXT:
        client.logout()
        response = client.submit(
            "/compte/connexion",
            {"email": user.email, "password": DEFAULT_PASSWORD},
            page="/compte/connexion",
            query_string={"next": target},
        )
        assert_on_site(response)
        if response.status_code == 400 and "\x00" in target:
            continue  # a NUL byte is refused outright (consult.inputs)
        assert response.headers["Location"] == "/compte/", target
    client.logout()
    response = client.submit(
        "/compte/connexion",
        {"email": user.email, "password": DEFAULT_PASSWORD},
        query_string={"next": "/forums/"},
    )
    assert response.headers["Location"] == "/forums/"


def test_report_form_never_redirects_off_site(app, client, session, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "RATELIMIT_REPORT", "1000 per hour")
    reporter = UserFactory()
    client.login(reporter.email)
    for target in HOSTILE_NEXT:
        item = ContributionFactory()
        url = f"/moderation/signaler/contribution/{item.id}"
        page = client.get(url, query_string={"next": target})
        if "\x00" in target:
            assert page.status_code == 400, target  # a NUL byte is refused outright
            continue
        assert page.status_code == 200, target
        response = client.submit(
            url, {"reason": "spam", "next": target}, page=url, query_string={"next": target}
        )
        assert_on_site(response)
        if response.status_code == 400 and "\x00" in target:
            continue  # a NUL byte is refused outright (consult.inputs)
        assert response.headers["Location"].startswith(f"/forums/contributions/{item.id}"), target


def test_vote_never_redirects_off_site(client, session) -> None:
    item = ContributionFactory()
    voter = UserFactory()
    client.login(voter.email)
    page = f"/forums/contributions/{item.id}"
    for index, target in enumerate(HOSTILE_NEXT):
        value = "adopt" if index % 2 == 0 else "refuse"
        response = client.submit(f"{page}/vote", {"value": value, "next": target}, page=page)
        assert_on_site(response)
        if response.status_code == 400 and "\x00" in target:
            continue  # a NUL byte is refused outright (consult.inputs)
        assert response.headers["Location"].startswith(page), target


def test_moderation_actions_never_redirect_off_site(client, session) -> None:
    moderator = RoleGrantFactory(role="moderator").user
    client.login(moderator.email)
    for target in HOSTILE_NEXT:
        item = ContributionFactory()
        response = client.submit(
            f"/moderation/contribution/{item.id}/masquer",
            {"reason": "hors sujet", "next": target},
            page="/moderation/",
        )
        assert_on_site(response)
        if response.status_code == 400 and "\x00" in target:
            continue  # a NUL byte is refused outright (consult.inputs)
        assert response.headers["Location"] == "/moderation/", target
        participant = UserFactory()
        response = client.submit(
            f"/moderation/utilisateurs/{participant.id}/bloquer",
            {"reason": "spam répété", "next": target},
            page="/moderation/",
        )
        assert_on_site(response)
        if response.status_code == 400 and "\x00" in target:
            continue  # a NUL byte is refused outright (consult.inputs)
        assert response.headers["Location"] == "/moderation/", target


@pytest.mark.parametrize(
    "referrer",
    [
        "https://evil.example/",
        "http://evil.example/forums/",
        "http://localhost//evil.example",
        "http://localhost/%09/evil.example",
        "http://localhost/\\evil.example",
        "http://localhost@evil.example/",
        "http://localhost/ok%0d%0aSet-Cookie:%20x=1",
        "http://localhost/%2F%2Fevil.example",
        "http://[evil.example/",
        "not a url at all",
    ],
)
def test_language_switch_never_redirects_off_site(client, referrer) -> None:
    response = client.get("/langue?lang=en", headers={"Referer": referrer})
    assert_on_site(response)
    assert response.headers["Location"] == "/"


def test_language_switch_goes_back_to_the_page(client) -> None:
    response = client.get("/langue?lang=en", headers={"Referer": "http://localhost/forums/?page=2"})
    assert response.headers["Location"] == "/forums/?page=2"


# --- Hosts and absolute links --------------------------------------------------------------------

FORGED = "evil.example"


def test_reset_mail_link_is_built_on_site_url_not_the_host_header(client, user, outbox) -> None:
    headers = {"Host": FORGED}
    page = client.get("/compte/mot-de-passe-oublie", headers=headers)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.text)
    response = client.post(
        "/compte/mot-de-passe-oublie",
        data={"email": user.email, "csrf_token": token.group(1)},
        headers=headers,
    )
    assert response.status_code == 302
    body = outbox[-1].get_content()
    assert FORGED not in body
    assert "http://localhost/compte/" in body


def test_feeds_ignore_the_host_header_and_share_one_cache_entry(app, client, session) -> None:
    from consult.cache import cache
    from tests.territorial_factories import EventFactory, NewsFactory

    EventFactory(title="Atelier numérique")
    NewsFactory(title="Une actualité")
    app.config["TERRITORIAL_FEED_CACHE_SECONDS"] = 60
    try:
        with app.app_context():
            store = cache()
            before = len(store) if isinstance(store, MemoryCache) else None
        for n in range(30):
            for path in ("/territoires/agenda.ics", "/territoires/actualites.atom"):
                response = client.get(path, headers={"Host": f"h{n}.{FORGED}"})
                assert response.status_code == 200
                assert FORGED not in response.text, path
        ics = client.get("/territoires/agenda.ics").text
        atom = client.get("/territoires/actualites.atom").text
        assert "@localhost" in ics and "http://localhost/territoires/" in atom
        if before is not None:
            assert len(store) <= before + 2  # one entry per feed, not per host
    finally:
        app.config["TERRITORIAL_FEED_CACHE_SECONDS"] = 0
        with app.app_context():
            cache().delete("territorial:feed:ics:national")
            cache().delete("territorial:feed:atom:national")


def test_api_links_ignore_the_host_header(client, session) -> None:
    ContributionFactory()
    response = client.get("/api/v1/contributions", headers={"Host": FORGED})
    assert response.status_code == 200
    assert FORGED not in response.text
    assert "http://localhost/" in response.text


def test_unknown_host_is_refused_in_french_when_hosts_are_configured(database_url) -> None:
    from tests.conftest import make_test_app

    guarded = make_test_app(
        database_url, TRUSTED_HOSTS=["consult.test"], SITE_URL="https://consult.test"
    )
    client = guarded.test_client()
    for path in ("/", "/mentions-legales", "/compte/connexion", "/forums/"):
        response = client.get(path, headers={"Host": FORGED})
        assert response.status_code == 400, path
        assert "adresse officielle" in response.text
        assert FORGED not in response.text
    api = client.get("/api/v1/contributions", headers={"Host": FORGED})
    assert api.status_code == 400 and api.is_json and FORGED not in api.text
    assert client.post("/langue", headers={"Host": FORGED}).status_code == 400
    assert client.get("/mentions-legales", headers={"Host": "consult.test"}).status_code == 200
    assert client.get("/mentions-legales", headers={"Host": "consult.test:443"}).status_code == 200


def test_memory_cache_is_bounded_and_evicts_the_least_recently_used() -> None:
    store = MemoryCache(max_entries=3)
    for key in "abc":
        store.set(key, key, 60)
    assert store.get("a") == "a"  # "a" becomes the most recent
    store.set("d", "d", 60)
    assert len(store) == 3
    assert store.get("b") is None
    assert [store.get(k) for k in "acd"] == ["a", "c", "d"]


# --- One home per rule ---------------------------------------------------------------------------

SOURCE_DIRS = ("consult", "forums", "surveys", "retex", "synthesis")
# Definitions and calls that live in consult/web.py only.
FORBIDDEN = {
    "def _safe_next": re.compile(r"^\s*def _safe_next\b", re.M),
    "def _same_site": re.compile(r"^\s*def _same_site\b", re.M),
    "def _limit(key)": re.compile(r"^\s*def _limit\(key", re.M),
    "limiter.limit(": re.compile(r"\blimiter\.limit\("),
    "def _audit / def audit": re.compile(r"^\s*def _?audit\b", re.M),
    "AuditEvent(...)": re.compile(r"\bAuditEvent\("),
    "def _me / def _user": re.compile(r"^\s*def _(me|user)\(\)", re.M),
    "request.host_url": re.compile(r"request\.host_url"),
}


def _sources() -> list[Path]:
    return [
        path
        for folder in SOURCE_DIRS
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != ROOT / "consult" / "web.py"
    ]


def test_no_package_redeclares_a_web_helper() -> None:
    found = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        for name, pattern in FORBIDDEN.items():
            if name == "AuditEvent(...)" and path.name == "models.py":
                text_without_class = text.replace("class AuditEvent(", "")
                if pattern.search(text_without_class):
                    found.append((str(path.relative_to(ROOT)), name))
                continue
            if pattern.search(text):
                found.append((str(path.relative_to(ROOT)), name))
    assert found == []


def test_no_template_builds_links_on_the_host_header() -> None:
    hits = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "templates").rglob("*"))
        if path.is_file()
        and re.search(r"request\.(host|host_url|url_root)\b", path.read_text(encoding="utf-8"))
    ]
    assert hits == []


def test_every_package_error_derives_from_the_one_base() -> None:
    bases = {}
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                bases[(path.name, node.name)] = [ast.unparse(b) for b in node.bases]
    package_errors = {
        "ForumError",
        "SurveyError",
        "RetexError",
        "TerritorialError",
        "ModerationError",
        "AccountError",
        "ResultsError",
    }
    seen = {name for (_file, name) in bases} & package_errors
    assert seen == package_errors
    for (_file, name), names in bases.items():
        if name in package_errors:
            assert names == ["ConsultError"], (name, names)


def test_errors_carry_status_message_and_field() -> None:
    from consult.accounts.services import AccountError
    from synthesis.results import ResultsError

    assert (ConsultError("Non.").status, ConsultError("Non.", 404).status) == (409, 404)
    assert ResultsError("Non.").status == 422
    account = AccountError("Pris.", "email")
    assert (account.message, account.field, account.status) == ("Pris.", "email", 409)


def test_audit_records_objects_and_kinds(session) -> None:
    actor = UserFactory()
    audit(session, actor, "test.object", actor, note="x")
    audit(session, None, "test.kind", "idea", 42)
    session.flush()
    rows = session.query(AuditEvent).filter(AuditEvent.action.like("test.%")).all()
    got = {(r.action, r.actor_id, r.target_type, r.target_id, tuple(r.detail)) for r in rows}
    assert got == {
        ("test.object", actor.id, "user", str(actor.id), ("note",)),
        ("test.kind", None, "idea", "42", ()),
    }


# --- Configuration -----------------------------------------------------------------------------


def _production_env(monkeypatch, tmp_path, **env: str) -> None:
    monkeypatch.setenv("CONSULT_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    for name in ("SITE_URL", "REDIS_URL", "CONSULT_SINGLE_PROCESS", "TRUSTED_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_production_refuses_to_start_without_site_url(monkeypatch, tmp_path) -> None:
    from consult import create_app
    from consult.config import ConfigError

    _production_env(monkeypatch, tmp_path, CONSULT_SINGLE_PROCESS="1")
    with pytest.raises(ConfigError, match="SITE_URL is not set"):
        create_app()
    _production_env(monkeypatch, tmp_path, CONSULT_SINGLE_PROCESS="1", SITE_URL="consult.fr")
    with pytest.raises(ConfigError, match="SITE_URL must look like"):
        create_app()


def test_production_refuses_to_start_without_redis_unless_single_process(
    monkeypatch, tmp_path
) -> None:
    from consult import create_app
    from consult.config import ConfigError

    _production_env(monkeypatch, tmp_path, SITE_URL="https://consult.example.fr")
    with pytest.raises(ConfigError, match=r"REDIS_URL is not set.*CONSULT_SINGLE_PROCESS=1"):
        create_app()
    _production_env(
        monkeypatch,
        tmp_path,
        SITE_URL="https://consult.example.fr/",
        CONSULT_SINGLE_PROCESS="1",
        TRUSTED_HOSTS=" www.consult.example.fr, .consult.example.fr ",
    )
    app = create_app()
    assert app.config["SITE_URL"] == "https://consult.example.fr"
    assert app.config["TRUSTED_HOSTS"] == [
        "consult.example.fr",
        "www.consult.example.fr",
        ".consult.example.fr",
    ]
    with app.app_context():
        # Outside any request (CLI, jobs) absolute links are on SITE_URL too.
        from flask import url_for

        assert url_for("pages.legal") == "https://consult.example.fr/mentions-legales"
    client = app.test_client()
    assert client.get("/mentions-legales", headers={"Host": "evil.example"}).status_code == 400
    app.extensions["consult_engine"].dispose()


def test_an_uncaught_refusal_is_rendered_with_its_status(database_url) -> None:
    from tests.conftest import make_test_app

    fresh = make_test_app(database_url)

    def refusing():
        raise ConsultError("Ce n'est pas possible ici.", 403)

    fresh.add_url_rule("/essai-refus", "essai_refus", refusing)
    client = fresh.test_client()
    page = client.get("/essai-refus")
    assert page.status_code == 403 and "Ce n&#39;est pas possible ici." in page.text
    script = client.get("/essai-refus", headers={"Accept": "application/json"})
    assert (script.status_code, script.json) == (403, {"error": "Ce n'est pas possible ici."})
