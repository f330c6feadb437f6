"""Public pages, layout, language, security headers and error pages."""

from __future__ import annotations

import re

import pytest

from consult import counters
from synthesis import privacy, store
from tests.factories import UserFactory

PUBLIC_PAGES = [
    "/",
    "/donnees-personnelles",
    "/mentions-legales",
    "/accessibilite",
    "/compte/inscription",
    "/compte/connexion",
    "/compte/mot-de-passe-oublie",
]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_page_is_french_dsfr_and_self_contained(client, path) -> None:
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="fr"' in html
    assert re.search(r'href="/static/dsfr/[^"]+\.css"', html)
    assert 'href="#contenu"' in html and 'id="contenu"' in html  # skip link target
    assert html.count("<h1") == 1
    # Nothing is loaded from another host: every src/href of a resource is local.
    for tag, attr in (("script", "src"), ("link", "href"), ("img", "src")):
        for url in re.findall(rf"<{tag}[^>]*\s{attr}=\"([^\"]+)\"", html):
            assert url.startswith("/"), f"{tag} loads {url} from another host"
    assert "style=" not in html, "inline styles are blocked by the CSP"
    assert re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html) is None, "inline script"
    for link in ("/donnees-personnelles", "/mentions-legales", "/accessibilite"):
        assert f'href="{link}"' in html


def test_security_headers(client) -> None:
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_flags(client) -> None:
    response = client.get("/compte/connexion")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "consult_session=" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_secure_cookies_and_hsts_in_production(database_url) -> None:
    from tests.conftest import make_test_app

    prod = make_test_app(
        database_url,
        ENV_NAME="production",
        SECRET_KEY="p" * 40,
        SESSION_COOKIE_SECURE=True,
        SITE_URL="https://consult.test",
        SINGLE_PROCESS=True,
    )
    response = prod.test_client().get("/compte/connexion", base_url="https://consult.test")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "consult_session=" in c)
    assert "Secure" in cookie
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_account_pages_are_not_cached(client, user) -> None:
    client.login(user.email)
    assert client.get("/compte/").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("method", "path", "status", "title"),
    [
        ("GET", "/page-qui-n-existe-pas", 404, "Page introuvable"),
        ("PUT", "/", 405, "Méthode non autorisée"),
        ("GET", "/compte/deconnexion", 405, "Méthode non autorisée"),
        ("GET", "/compte/reinitialiser/faux", 400, "Lien invalide"),
    ],
)
def test_french_error_pages(client, method, path, status, title) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    assert title in response.get_data(as_text=True)
    assert '<html lang="fr"' in response.get_data(as_text=True)


def test_403_page(client, user) -> None:
    client.login(user.email)
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "Accès refusé" in response.get_data(as_text=True)


def test_413_page(app, client) -> None:
    previous = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = client.post("/compte/connexion", data={"email": "x" * 5000})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = previous
    assert response.status_code == 413
    assert "trop volumineux" in response.get_data(as_text=True)


def test_500_page_is_french_and_rolls_back(app, client, monkeypatch) -> None:
    def boom() -> dict:
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(counters, "participation", boom)
    response = client.get("/")
    assert response.status_code == 500
    assert "Erreur du serveur" in response.get_data(as_text=True)
    assert "simulated failure" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "config_key", "data"),
    [
        ("/compte/connexion", "RATELIMIT_LOGIN", {"email": "a@exemple.test", "password": "b"}),
        ("/compte/inscription", "RATELIMIT_REGISTER", {"pseudonym": "x"}),
        ("/compte/mot-de-passe-oublie", "RATELIMIT_RESET", {"email": "a@exemple.test"}),
    ],
)
def test_rate_limits(app, client, path, config_key, data) -> None:
    from consult.extensions import limiter

    previous = app.config[config_key]
    app.config[config_key] = "3 per minute"
    try:
        with app.app_context():
            limiter.reset()
        token = client.csrf_token(path)
        statuses = [
            client.post(path, data=data | {"csrf_token": token}).status_code for _ in range(5)
        ]
        assert 429 not in statuses[:3]
        assert statuses[3:] == [429, 429]
        response = client.post(path, data=data | {"csrf_token": token})
        assert "Trop de requêtes" in response.get_data(as_text=True)
        # Reading the page is not limited.
        assert client.get(path).status_code == 200
    finally:
        app.config[config_key] = previous
        with app.app_context():
            limiter.reset()


def test_language_switch_to_english_and_back(client) -> None:
    response = client.get("/langue?lang=en", headers={"Referer": "/"})
    assert response.status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en"' in html
    assert "Sign in" in html or "Log in" in html
    assert client.get("/donnees-personnelles").get_data(as_text=True).count("Personal data") >= 1
    client.get("/langue?lang=fr")
    assert '<html lang="fr"' in client.get("/").get_data(as_text=True)


def test_language_switch_by_post_still_checks_csrf(client) -> None:
    """The switch is a GET form now; a POST (an old page) is still CSRF-checked."""
    assert client.post("/langue", data={"lang": "en"}).status_code == 400
    token = client.csrf_token("/compte/connexion")
    response = client.post("/langue", data={"lang": "en", "csrf_token": token})
    assert response.status_code == 302
    assert '<html lang="en"' in client.get("/").get_data(as_text=True)


def test_language_switch_rejects_unknown_language(client) -> None:
    client.get("/langue?lang=xx")
    assert '<html lang="fr"' in client.get("/").get_data(as_text=True)


def _compile(session) -> None:
    from synthesis import engine

    engine.compile_all(session, topics=False)
    session.flush()


def _active(user) -> None:
    """Participants are people who took part (here: one published idea each)."""
    from tests.territorial_factories import IdeaFactory

    IdeaFactory(author=user)


def test_home_people_figures_come_from_the_compilation(app, client, session) -> None:
    for _ in range(12):
        _active(UserFactory(audience="professeur", academie_code="16"))
    for _ in range(3):
        _active(UserFactory(audience="agent", academie_code="16"))
    session.flush()
    html = client.get("/").get_data(as_text=True)
    assert "Calendrier" in html
    assert "La consultation est ouverte" in html
    # Before any compilation: no people figure at all, never a live count.
    assert "seront publiés avec la première synthèse" in html
    assert "Professeurs</th>" not in html and "&lt; 10" not in html
    _compile(session)
    html = client.get("/").get_data(as_text=True)
    # Only one audience can be read: no breakdown, the total and one sentence.
    assert "Trop peu de participants pour détailler par public." in html
    assert "Professeurs</th>" not in html
    total = re.search(r"Participants aux forums, boîtes à idées et Retex : (\d+)", html)
    assert total and abs(int(total.group(1)) - 15) <= privacy.D  # perturbed, never exact
    for _ in range(12):
        _active(UserFactory(audience="eleve", academie_code="16", school_level="college"))
    for _ in range(15):
        _active(UserFactory(audience="parent", academie_code="16"))
    session.flush()
    _compile(session)
    html = client.get("/").get_data(as_text=True)
    cells = dict(re.findall(r'<th scope="row">([^<]+)</th><td>(.*?)</td>', html))
    # Counts of 10 or more are printed within the ptable's bound of the truth; the 3 agents are
    # hidden behind the neutral marker (the total, perturbed on its own, cannot give them back).
    for audience, truth in (("Parents", 15), ("Élèves", 12), ("Professeurs", 12)):
        assert abs(int(cells[audience]) - truth) <= privacy.D, audience
    assert "secret statistique" in cells["Agents"]
    assert "&lt; 10" not in html
    # The figures are the compilation's public ones, the same as the API's.
    with app.app_context():  # the app's key (other tests create apps of their own)
        public = store.load(session, "national", "", public=True, tables=["participation"])
    df = public["participation"]
    parents = df[(df["indicator"] == "participants") & (df["audience"] == "parent")]
    assert int(parents["value"].iloc[0]) == int(cells["Parents"])


def test_home_calendar_phases(app, client) -> None:
    from datetime import date

    previous = app.config["CONSULTATION_OPENS"], app.config["CONSULTATION_CLOSES"]
    try:
        app.config["CONSULTATION_OPENS"], app.config["CONSULTATION_CLOSES"] = (
            date(2020, 6, 1),
            date(2020, 11, 5),
        )
        assert "est close depuis le 5 novembre 2020" in client.get("/").get_data(as_text=True)
        app.config["CONSULTATION_OPENS"], app.config["CONSULTATION_CLOSES"] = (
            date(2099, 1, 1),
            date(2099, 2, 1),
        )
        assert "ouvrira le 1er janvier 2099" in client.get("/").get_data(as_text=True)
    finally:
        app.config["CONSULTATION_OPENS"], app.config["CONSULTATION_CLOSES"] = previous


def test_navigation_lists_only_existing_sections(client) -> None:
    html = client.get("/").get_data(as_text=True)
    nav = html[html.index('id="navigation-principale"') :]
    nav = nav[: nav.index("</nav>")]
    for href in re.findall(r'href="([^"]+)"', nav):
        assert client.get(href).status_code == 200, href


def test_escaping_of_user_content(client, session) -> None:
    user = UserFactory(pseudonym="<script>alert(1)</script>")
    client.login(user.email)
    html = client.get("/compte/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_anonymous_visits_do_not_churn_cookies(client) -> None:
    client.get("/compte/connexion")  # creates the session (CSRF token)
    client.get("/compte/connexion")
    response = client.get("/compte/connexion")
    cookies = response.headers.getlist("Set-Cookie")
    assert not any(c.startswith("remember_token=") for c in cookies), cookies
    assert not any(c.startswith("consult_session=") for c in cookies), cookies


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/forums/", "/forums/"),
        ("/syntheses/", "/syntheses/"),
        ("/resultats/", "/resultats/"),
        ("/retex/", "/retex/"),
    ],
)
def test_navigation_marks_only_the_current_section(client, path, current) -> None:
    # Syntheses and results share one blueprint: the current entry follows the URL, not it.
    html = client.get(path).get_data(as_text=True)
    marked = re.findall(r'class="fr-nav__link" href="([^"]+)" aria-current="page"', html)
    assert marked == [current]
