"""Configuration read from environment variables, with safe development defaults."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration is unsafe or incomplete."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "oui"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _date(name: str, default: str) -> date:
    raw = os.environ.get(name) or default
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a date (YYYY-MM-DD), got {raw!r}") from exc


def normalise_database_url(url: str) -> str:
    """Route plain postgres URLs to psycopg 3, the only PostgreSQL driver we install."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


DEFAULT_SITE_URLS = {
    "development": "http://127.0.0.1:5000",
    "testing": "http://localhost",
    "production": "",
}


def from_environment() -> dict:
    env = os.environ.get("CONSULT_ENV", "development").strip().lower()
    if env not in {"development", "testing", "production"}:
        raise ConfigError(f"CONSULT_ENV must be development, testing or production, got {env!r}")
    instance = Path(os.environ.get("CONSULT_INSTANCE_PATH", ROOT / "instance"))
    default_db = f"sqlite:///{instance / 'consult.sqlite3'}"
    secret = os.environ.get("SECRET_KEY", "")
    production = env == "production"
    redis_url = os.environ.get("REDIS_URL") or None
    hosts = [h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()]

    config: dict = {
        "ENV_NAME": env,
        "TESTING": env == "testing",
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": secret,
        # The cell-key secret of published figures (synthesis/privacy.py), derived from
        # SECRET_KEY when unset; set apart, SECRET_KEY can be rotated without moving a figure.
        "DISCLOSURE_KEY": os.environ.get("DISCLOSURE_KEY") or None,
        "SQLALCHEMY_DATABASE_URL": normalise_database_url(
            os.environ.get("DATABASE_URL") or default_db
        ),
        "SQLALCHEMY_ECHO": _bool(os.environ.get("SQLALCHEMY_ECHO")),
        "REDIS_URL": redis_url,
        # Without Redis, rate limits and caches live in each worker: production accepts that
        # only when told it runs one process.
        "SINGLE_PROCESS": _bool(os.environ.get("CONSULT_SINGLE_PROCESS")),
        # The public address every absolute link (mails, feeds, API, calendar UIDs) is built on,
        # never the request's Host header. Production must set it.
        "SITE_URL": (os.environ.get("SITE_URL") or DEFAULT_SITE_URLS[env]).rstrip("/"),
        # Host names accepted in the Host header besides SITE_URL's (comma list; a leading dot
        # accepts subdomains). Production answers any other host with 400; elsewhere an empty
        # list accepts any host.
        "TRUSTED_HOSTS": hosts or None,
        "PROXY_FIX_HOPS": _int("PROXY_FIX_HOPS", 0),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO").upper(),
        # Sessions and cookies: HTTPS-only cookies in production, where TLS terminates upstream.
        "SESSION_COOKIE_SECURE": _bool(os.environ.get("SESSION_COOKIE_SECURE"), production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "consult_session",
        "REMEMBER_COOKIE_SECURE": _bool(os.environ.get("SESSION_COOKIE_SECURE"), production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": 14 * 24 * 3600,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 10 * 1024 * 1024),
        "WTF_CSRF_TIME_LIMIT": 4 * 3600,
        "WTF_CSRF_ENABLED": True,
        # Rate limits (Flask-Limiter syntax); shared through Redis between gunicorn workers.
        "RATELIMIT_ENABLED": _bool(os.environ.get("RATELIMIT_ENABLED"), True),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Per client address, generous ceilings: a class of 35 behind one school address must
        # register and log in within minutes, typos included. Guessing one account's password
        # is stopped per account instead (RATELIMIT_LOGIN_ACCOUNT, from any address).
        "RATELIMIT_LOGIN": os.environ.get("RATELIMIT_LOGIN", "100 per minute;600 per hour"),
        "RATELIMIT_REGISTER": os.environ.get("RATELIMIT_REGISTER", "60 per minute;200 per hour"),
        "RATELIMIT_LOGIN_ACCOUNT": os.environ.get(
            "RATELIMIT_LOGIN_ACCOUNT", "5 per 15 minutes;20 per day"
        ),
        "RATELIMIT_RESET": os.environ.get("RATELIMIT_RESET", "3 per minute;10 per hour"),
        "RATELIMIT_REAUTH": os.environ.get("RATELIMIT_REAUTH", "10 per minute;30 per hour"),
        "PASSWORD_RESET_MAX_AGE": _int("PASSWORD_RESET_MAX_AGE", 3600),
        "PASSWORD_MIN_LENGTH": _int("PASSWORD_MIN_LENGTH", 12),
        # Mail: without MAIL_SERVER messages are written to the log (development).
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": _int("MAIL_PORT", 587),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool(os.environ.get("MAIL_USE_TLS"), True),
        "MAIL_USE_SSL": _bool(os.environ.get("MAIL_USE_SSL"), False),
        "MAIL_SENDER": os.environ.get("MAIL_SENDER", "Consult <ne-pas-repondre@consult.localhost>"),
        "MAIL_SUPPRESS_SEND": env == "testing",
        # The consultation itself.
        "CONSULTATION_TITLE": os.environ.get(
            "CONSULTATION_TITLE", "États généraux du numérique pour l'éducation"
        ),
        "CONSULTATION_OPENS": _date("CONSULTATION_OPENS", "2020-06-01"),
        "CONSULTATION_CLOSES": _date("CONSULTATION_CLOSES", "2027-06-30"),
        # Public counters are kept at write time (consult/tallies.py): reading them is cheap, the
        # cache only saves a few small queries per page, within the page cache's own bound.
        "COUNTERS_CACHE_SECONDS": _int("COUNTERS_CACHE_SECONDS", 10),
        "CACHE_MAX_ENTRIES": _int("CACHE_MAX_ENTRIES", 2048),
        # Who publishes the site: shown on the legal and privacy pages.
        "SITE_PUBLISHER": os.environ.get(
            "SITE_PUBLISHER", "Ministère de l'Éducation nationale et de la Jeunesse"
        ),
        "SITE_PUBLISHER_ADDRESS": os.environ.get(
            "SITE_PUBLISHER_ADDRESS", "110 rue de Grenelle, 75357 Paris SP 07"
        ),
        "SITE_PUBLICATION_DIRECTOR": os.environ.get(
            "SITE_PUBLICATION_DIRECTOR",
            "la directrice ou le directeur du numérique pour l'éducation",
        ),
        "SITE_HOST_NAME": os.environ.get("SITE_HOST_NAME", "l'opérateur désigné par l'éditeur"),
        "SITE_HOST_ADDRESS": os.environ.get("SITE_HOST_ADDRESS", "France"),
        "SITE_CONTACT_EMAIL": os.environ.get("SITE_CONTACT_EMAIL", "contact@consult.localhost"),
        "SITE_DPO_CONTACT": os.environ.get("SITE_DPO_CONTACT", "dpd@consult.localhost"),
        "ACCOUNT_RETENTION_MONTHS": _int("ACCOUNT_RETENTION_MONTHS", 12),
        "LOG_RETENTION_DAYS": _int("LOG_RETENTION_DAYS", 30),
        "ACCESSIBILITY_STATEMENT_DATE": _date("ACCESSIBILITY_STATEMENT_DATE", "2026-11-23"),
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "LANGUAGES": ("fr", "en"),
    }
    return config


def validate(config: dict) -> None:
    """Refuse to start with an unsafe configuration; messages say how to fix it."""
    env = config.get("ENV_NAME", "development")
    secret = config.get("SECRET_KEY") or ""
    if env == "production":
        if not secret:
            raise ConfigError(
                "SECRET_KEY is not set. In production Consult refuses to start without it: "
                "export SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        if len(secret) < 32:
            raise ConfigError("SECRET_KEY is too short for production: use at least 32 characters.")
        if not config.get("SITE_URL"):
            raise ConfigError(
                "SITE_URL is not set. In production Consult builds every absolute link (password "
                "reset mails, feeds, API) on it and trusts no other host: "
                "export SITE_URL=https://consult.education.gouv.fr"
            )
        if not config.get("REDIS_URL") and not config.get("SINGLE_PROCESS"):
            raise ConfigError(
                "REDIS_URL is not set. Without Redis each worker counts rate limits and keeps its "
                "cache on its own, so limits multiply with the number of workers. Set REDIS_URL "
                "(e.g. redis://127.0.0.1:6379/0), or CONSULT_SINGLE_PROCESS=1 if the site really "
                "runs as one single process."
            )
    site = urlsplit(config.get("SITE_URL") or "")
    if config.get("SITE_URL") and (
        site.scheme not in {"http", "https"} or not site.hostname or site.query or site.fragment
    ):
        raise ConfigError(
            f"SITE_URL must look like https://consult.example.fr, got {config['SITE_URL']!r}"
        )
    if config["CONSULTATION_CLOSES"] < config["CONSULTATION_OPENS"]:
        raise ConfigError("CONSULTATION_CLOSES is before CONSULTATION_OPENS.")


def trusted_hosts(config: dict) -> list[str] | None:
    """The Host header values Flask accepts (its TRUSTED_HOSTS): SITE_URL's host plus the
    configured ones; None (any host) outside production when none is configured."""
    extra = list(config.get("TRUSTED_HOSTS") or [])
    if config.get("ENV_NAME") != "production" and not extra:
        return None
    site_host = urlsplit(config.get("SITE_URL") or "").hostname
    return list(dict.fromkeys([*([site_host] if site_host else []), *extra]))
