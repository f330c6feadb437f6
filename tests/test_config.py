from __future__ import annotations

import pytest

from consult import create_app
from consult.config import ConfigError, normalise_database_url


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CONSULT_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app()


def test_production_refuses_a_short_secret_key(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CONSULT_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "short")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    with pytest.raises(ConfigError, match="too short"):
        create_app()


def test_development_creates_and_keeps_a_secret_key(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CONSULT_ENV", "development")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("CONSULT_INSTANCE_PATH", str(tmp_path))
    first = create_app({"SQLALCHEMY_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})
    second = create_app({"SQLALCHEMY_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_default_database_is_sqlite_under_instance(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CONSULT_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URL"] == f"sqlite:///{tmp_path}/consult.sqlite3"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url_normalisation(given, expected) -> None:
    assert normalise_database_url(given) == expected


def test_bad_values_give_clear_messages(monkeypatch) -> None:
    monkeypatch.setenv("CONSULTATION_OPENS", "demain")
    with pytest.raises(ConfigError, match="CONSULTATION_OPENS must be a date"):
        create_app()
    monkeypatch.setenv("CONSULTATION_OPENS", "2020-06-01")
    monkeypatch.setenv("PROXY_FIX_HOPS", "beaucoup")
    with pytest.raises(ConfigError, match="PROXY_FIX_HOPS must be an integer"):
        create_app()


def test_proxy_fix_uses_forwarded_headers(database_url) -> None:
    from tests.conftest import make_test_app

    app = make_test_app(database_url, PROXY_FIX_HOPS=1)

    @app.get("/_ip")
    def ip():
        from flask import request

        return f"{request.remote_addr} {request.scheme}"

    response = app.test_client().get(
        "/_ip", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    )
    assert response.get_data(as_text=True) == "203.0.113.9 https"


def test_disclosure_key_comes_from_the_environment(monkeypatch, tmp_path) -> None:
    from consult.config import from_environment
    from synthesis import privacy

    monkeypatch.setenv("CONSULT_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.delenv("DISCLOSURE_KEY", raising=False)
    derived = privacy.key_for(from_environment())
    monkeypatch.setenv("DISCLOSURE_KEY", "k" * 40)
    config = from_environment()
    assert config["DISCLOSURE_KEY"] == "k" * 40
    assert privacy.key_for(config) == b"k" * 40 != derived
    # Rotating SECRET_KEY no longer moves the published figures.
    monkeypatch.setenv("SECRET_KEY", "t" * 40)
    assert privacy.key_for(from_environment()) == b"k" * 40
