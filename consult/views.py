"""Home, long-form public pages, language switch, error pages and HTTP security headers."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2 import TemplateNotFound
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from consult import accessibility as rgaa
from consult import counters, dates
from consult.accounts.forms import LanguageForm
from consult.hooks import NavItem, hooks
from consult.i18n import LOCALE_COOKIE
from consult.models import Audience, Role, ScopeKind
from consult.permissions import Permission, can, may_participate, participation_refusal
from consult.territories import academie_label
from consult.web import safe_referrer

bp = Blueprint("pages", __name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@bp.route("/")
def home():
    opens = current_app.config["CONSULTATION_OPENS"]
    closes = current_app.config["CONSULTATION_CLOSES"]
    today = date.today()
    if today < opens:
        phase = "upcoming"
    elif today > closes:
        phase = "closed"
    else:
        phase = "open"
    return render_template(
        "home.html",
        opens=opens,
        closes=closes,
        phase=phase,
        stats=counters.participation(),
    )


def _long_form(name: str, **context) -> str:
    """Long texts are written per language rather than sentence by sentence in the catalog."""
    locale = str(get_locale() or "fr")
    try:
        return render_template(f"pages/{locale}/{name}.html", **context)
    except TemplateNotFound:
        return render_template(f"pages/fr/{name}.html", **context)


@bp.route("/donnees-personnelles")
def privacy():
    return _long_form("privacy")


@bp.route("/mentions-legales")
def legal():
    return _long_form("legal")


@bp.route("/accessibilite")
def accessibility():
    audit = rgaa.current()
    return _long_form(
        "accessibility",
        audit=audit,
        rate=format_decimal(audit.rate, format="0.0"),
    )


# Pages of the site map beyond the main navigation, under the section they belong to; entries
# whose package is not installed are left out.
SITEMAP_CHILDREN = {
    "forums.index": [(_l("Rechercher une contribution"), "forums.search")],
    "territories.index": [
        (_l("Agenda des rencontres"), "territories.calendar"),
        (_l("Actualités des territoires"), "territories.news"),
    ],
    "surveys.index": [(_l("Répondre avec un code d'accès"), "surveys.code")],
}
SITEMAP_ACCOUNT = {
    True: [
        (_l("Mon compte"), "account.index"),
        (_l("Mon profil"), "account.profile"),
        (_l("Sécurité du compte"), "account.security"),
        (_l("Mes données"), "account.download_data"),
        (_l("Supprimer mon compte"), "account.delete"),
    ],
    False: [
        (_l("Se connecter"), "account.login"),
        (_l("Créer un compte"), "account.register"),
        (_l("Mot de passe oublié"), "account.forgot_password"),
    ],
}
SITEMAP_INFORMATION = [
    (_l("Mentions légales"), "pages.legal"),
    (_l("Données personnelles"), "pages.privacy"),
    (_l("Déclaration d’accessibilité"), "pages.accessibility"),
    (_l("Plan du site"), "pages.sitemap"),
    (_l("API de données ouvertes"), "api.openapi"),
]


@bp.route("/plan-du-site")
def sitemap():
    """Every public section, then the account pages and the information pages (RGAA 12.1:
    a second way to reach each page besides the menu)."""
    known = current_app.view_functions

    def entries(pairs) -> list[tuple[str, str]]:
        return [(str(label), url_for(endpoint)) for label, endpoint in pairs if endpoint in known]

    sections = [
        (str(item.label), url_for(item.endpoint), entries(SITEMAP_CHILDREN.get(item.endpoint, ())))
        for item in _nav_items()
    ]
    return render_template(
        "pages/sitemap.html",
        sections=sections,
        account=entries(SITEMAP_ACCOUNT[current_user.is_authenticated]),
        information=entries(SITEMAP_INFORMATION),
    )


@bp.route("/langue", methods=["GET", "POST"])
def set_language():
    # The footer's switch is a GET form: a form with a CSRF token on every page would open a
    # session (and send a cookie) for every visitor, and pages with a per-visitor token could
    # not be shared from the page cache. Choosing a language only sets a preference cookie,
    # so a cross-site link can at worst switch someone's language. POST (with its CSRF check,
    # done before the view) stays accepted for forms that were rendered before.
    if request.method == "GET":
        form = LanguageForm(request.args, meta={"csrf": False})
        valid = form.validate()
    else:
        form = LanguageForm()
        valid = form.validate_on_submit()
    target = safe_referrer() or url_for("pages.home")
    response = redirect(target)
    if valid:
        response.set_cookie(
            LOCALE_COOKIE,
            form.lang.data,
            max_age=365 * 24 * 3600,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
    return response


ERROR_TITLES = {
    400: _l("Requête incorrecte"),
    401: _l("Connexion nécessaire"),
    403: _l("Accès refusé"),
    404: _l("Page introuvable"),
    405: _l("Méthode non autorisée"),
    409: _l("Conflit"),
    410: _l("Contenu retiré"),
    413: _l("Fichier ou formulaire trop volumineux"),
    422: _l("Données invalides"),
    429: _l("Trop de requêtes"),
    500: _l("Erreur du serveur"),
    503: _l("Service momentanément indisponible"),
}
ERROR_TEXTS = {
    400: _l("La requête n'a pas pu être comprise. Vérifiez les informations envoyées."),
    401: _l("Connectez-vous pour accéder à cette page."),
    403: _l("Vous n'avez pas les droits nécessaires pour accéder à cette page."),
    404: _l("La page que vous cherchez n'existe pas ou a été déplacée."),
    405: _l("Cette adresse ne peut pas être utilisée de cette façon."),
    409: _l("Cette action entre en conflit avec une autre. Rechargez la page et réessayez."),
    410: _l("Ce contenu a été retiré et n'est plus consultable."),
    413: _l("Ce que vous avez envoyé dépasse la taille autorisée."),
    422: _l("Les informations envoyées ne sont pas valides."),
    429: _l("Vous avez fait trop de demandes en peu de temps. Réessayez dans quelques minutes."),
    500: _l("Une erreur inattendue s'est produite. L'équipe technique en est informée."),
    503: _l("Le service est très sollicité en ce moment. Réessayez dans quelques secondes."),
}


def render_error(
    code: int,
    detail: str | None = None,
    *,
    onward: tuple[str, str] | None = None,
):
    """The error page; ``onward`` is (url, label) of where to go next (a withdrawn
    contribution's forum, say)."""
    return (
        render_template(
            "error.html",
            code=code,
            title=ERROR_TITLES.get(code, ERROR_TITLES[500]),
            text=detail or ERROR_TEXTS.get(code, ERROR_TEXTS[500]),
            onward=onward,
        ),
        code,
    )


def _nav_items() -> list[NavItem]:
    return [
        item
        for item in sorted(hooks().nav, key=lambda i: i.order)
        if item.endpoint in current_app.view_functions
    ]


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    from consult import skeleton

    # Logged-in participants get the home page from a shared skeleton (consult/skeleton.py):
    # only the header is theirs.
    skeleton.register_page("pages.home")
    nav = hooks(app).nav
    nav.extend(
        [
            NavItem(_l("Forums"), "forums.index", 10),
            NavItem(_l("Questionnaire"), "surveys.index", 20),
            NavItem(_l("Territoires"), "territories.index", 30),
            NavItem(_l("Retex"), "retex.index", 40),
            NavItem(_l("Synthèses"), "synthesis.index", 50),
            NavItem(_l("Résultats"), "synthesis.results", 60),
        ]
    )

    hooks(app).counter_labels["participants"] = _l("participants inscrits")

    @app.template_global()
    def masked() -> Markup:
        """The neutral marker of a figure hidden by the statistical secret: the visible words
        say it, the title adds why (the pages also explain it in a sentence)."""
        return Markup('<span class="consult-secret" title="{title}">{text}</span>').format(
            title=_("Moins de 10 personnes"),
            text=_("secret statistique"),
        )

    @app.template_filter("date_long")
    def date_long(value: date) -> str:
        return dates.local_date_long(value)

    dates.init_app(app)

    @app.template_global()
    def role_label(role: str) -> str:
        return Role(role).label

    @app.template_global()
    def scope_label(kind: str, code: str) -> str:
        from consult.territories import academie_label, catalog

        cat = catalog()
        if kind == ScopeKind.ACADEMIE and code in cat.academies:
            return academie_label(cat.academies[code].name, capital=False)
        if kind == ScopeKind.REGION and code in cat.regions:
            return str(_l("région académique %(name)s", name=cat.regions[code].name))
        return code

    app.add_template_global(academie_label)
    # Figures about public content are printed as they are, 0 to 9 included.
    app.add_template_filter(format_decimal, "number")

    @app.template_global()
    def staff_links() -> list[tuple[str, str, bool]]:
        """(label, url, current) of the staff areas this person may enter: each link asks the
        very permission its view requires (consult.hooks.StaffLink)."""
        if not current_user.is_authenticated:
            return []
        links = []
        for link in sorted(hooks(app).staff_nav, key=lambda item: item.order):
            if link.endpoint not in app.view_functions or not can(link.permission):
                continue
            url = url_for(link.endpoint)
            links.append((str(link.label), url, request.path.startswith(url)))
        return links

    @app.template_global()
    def may_act() -> bool:
        """Show buttons that lead to an action (report, propose an idea...)? Visitors see them
        (they lead to the login page); a blocked account does not (they would answer 403)."""
        return not current_user.is_authenticated or may_participate(current_user)

    @app.template_global()
    def blocked_notice() -> str:
        """The sentence a blocked account reads where others find vote and comment buttons
        ("" for everyone else): the buttons are not shown, and the page says why."""
        if current_user.is_authenticated and not may_participate(current_user):
            return participation_refusal()
        return ""

    @app.template_global()
    def audience_plural(value: str) -> str:
        return str(Audience(value).plural_label)

    @app.template_global()
    def counter_label(key: str) -> str:
        return str(hooks(app).counter_labels.get(key, key))

    @app.context_processor
    def inject() -> dict:
        config = app.config
        return {
            "can": can,
            "audiences": list(Audience),
            "Permission": Permission,
            "nav_items": _nav_items(),
            "current_locale": str(get_locale() or "fr"),
            "site": {
                "title": config["CONSULTATION_TITLE"],
                "publisher": config["SITE_PUBLISHER"],
                "publisher_address": config["SITE_PUBLISHER_ADDRESS"],
                "publication_director": config["SITE_PUBLICATION_DIRECTOR"],
                "host_name": config["SITE_HOST_NAME"],
                "host_address": config["SITE_HOST_ADDRESS"],
                "contact_email": config["SITE_CONTACT_EMAIL"],
                "dpo_contact": config["SITE_DPO_CONTACT"],
                "retention_months": config["ACCOUNT_RETENTION_MONTHS"],
                "log_retention_days": config["LOG_RETENTION_DAYS"],
                "closes": config["CONSULTATION_CLOSES"].strftime("%d/%m/%Y"),
                "opens": config["CONSULTATION_OPENS"].strftime("%d/%m/%Y"),
                "accessibility_statement_date": config["ACCESSIBILITY_STATEMENT_DATE"].strftime(
                    "%d/%m/%Y"
                ),
                "accessibility_status": rgaa.current().status,
            },
        }

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        )
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if getattr(g, "no_store", False) or (
            request.endpoint and request.endpoint.startswith("account.")
        ):
            headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400,
            str(
                _l(
                    "Le formulaire a expiré ou son jeton de sécurité est absent. "
                    "Rechargez la page et recommencez."
                )
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if request.path.startswith("/api/"):
            from consult.api import api_error

            return api_error(error.code, error.description)
        response_body, code = render_error(error.code)
        if error.code == 405 and error.valid_methods:
            return response_body, code, {"Allow": ", ".join(error.valid_methods)}
        return response_body, code

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        from consult.db import db

        db.session.rollback()
        if request.path.startswith("/api/"):
            from consult.api import api_error

            return api_error(500, None)
        return render_error(500)
