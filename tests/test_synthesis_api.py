"""Open-data API of the syntheses: always the suppressed tables, matching the store, declared in
the OpenAPI document, cached per compilation."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from synthesis import catalog, privacy, store
from tests.factories import RoleGrantFactory, UserFactory
from tests.test_synthesis_exports import EMAIL_RE, PHONE_RE, compile_fixture


@pytest.fixture
def compiled(session, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "SYNTHESIS_EXPORT_DIR", str(tmp_path / "exports"))
    return compile_fixture(session)


def _records(df: pd.DataFrame) -> list[dict]:
    return [
        {k: (None if pd.isna(v) else v) for k, v in row.items()}
        for row in df.astype(object).to_dict("records")
    ]


def test_index_without_compilation_lists_every_scope(client, session):
    response = client.get("/api/v1/syntheses")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["compilation"] is None
    assert doc["suppression_threshold"] == 10
    assert len(doc["scopes"]) == 1 + 18 + 30
    national = doc["scopes"][0]
    assert national["kind"] == "national"
    assert national["url"].endswith("/api/v1/syntheses/national")
    assert national["zip"].endswith("/syntheses/export/national.zip")
    poitiers = next(s for s in doc["scopes"] if s["kind"] == "academie" and s["code"] == "13")
    assert poitiers["name"] == "Académie de Poitiers"
    assert poitiers["url"].endswith("/api/v1/syntheses/academie/13")
    assert poitiers["downloads"].endswith("/syntheses/export/academie/poitiers/")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/api/v1/syntheses/national").status_code == 404


def test_index_and_scope_with_a_compilation(client, session, compiled):
    doc = client.get("/api/v1/syntheses").get_json()
    assert doc["compilation"] == {
        "id": compiled.id,
        "compiled_at": compiled.finished_at.replace(microsecond=0).isoformat() + "+00:00",
    }
    response = client.get("/api/v1/syntheses/national")
    assert response.status_code == 200
    scope = response.get_json()
    assert scope["scope"]["kind"] == "national"
    public = store.load(session, "national", "", public=True)
    assert [t["name"] for t in scope["tables"]] == list(catalog.TABLE_NAMES)
    rows = {t["name"]: t["rows"] for t in scope["tables"]}
    assert rows == {name: len(df) for name, df in public.items()}
    # Every indicator × audience, zeros included (hidden like any small row).
    assert rows["participation"] == len(catalog.PARTICIPATION_INDICATORS) * 7
    assert rows["forum_themes"] == 0
    participation = scope["tables"][0]
    assert participation["title"] == "Participation par public"
    assert [c["key"] for c in participation["columns"]] == [
        "audience",
        "indicator",
        "value",
        "people",
        "suppressed",
    ]
    assert participation["url"].endswith("/api/v1/syntheses/national/participation")
    assert participation["files"]["parquet"].endswith(
        "/syntheses/export/national/participation.parquet"
    )
    for kind, code in (("academie", "13"), ("region", "01")):
        response = client.get(f"/api/v1/syntheses/{kind}/{code}")
        assert response.status_code == 200, (kind, code)
        assert response.get_json()["scope"]["code"] == code


@pytest.mark.parametrize("role", [None, "participant", "analyst"])
def test_table_is_the_suppressed_one_whoever_asks(client, session, compiled, role):
    if role:
        user = UserFactory()
        if role == "analyst":
            RoleGrantFactory(user=user, role="analyst", scope_kind="national", scope_code="")
        client.login(user.email)
    response = client.get("/api/v1/syntheses/national/participation?detail=1")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["table"] == "participation"
    assert doc["data"] == _records(
        store.load(session, "national", "", public=True)["participation"]
    )
    eleve = doc["data"][0]
    assert eleve["audience"] == "eleve"
    assert eleve["value"] is None and eleve["people"] is None and eleve["suppressed"] is True
    raw = store.load(session, "national", "", public=False)["participation"]
    truth = {(r["audience"], r["indicator"]): r["people"] for r in raw.to_dict("records")}
    for row in doc["data"]:
        expected = truth.get((row["audience"], row["indicator"]), 0)
        if expected < privacy.THRESHOLD:
            # Hidden (a row of public content keeps its exact value, not its people).
            assert row["people"] is None
        else:
            assert abs(row["people"] - expected) <= privacy.D  # perturbed by its cell key
    assert "?detail" not in json.dumps(doc)


def test_territorial_table_matches_the_store(client, session, compiled):
    doc = client.get("/api/v1/syntheses/academie/13/survey_distribution").get_json()
    expected = _records(store.load(session, "academie", "13", public=True)["survey_distribution"])
    assert doc["data"] == expected
    shares = [r["share"] for r in doc["data"]][:4]
    assert shares[2:] == [None, None]
    assert abs(shares[0] - 0.6) < 0.15 and abs(shares[1] - 0.4) < 0.15
    for row in doc["data"]:  # computed from the published counts
        if row["share"] is not None:
            assert row["share"] == pytest.approx(row["count"] / row["base"], abs=1e-6)
    region = client.get("/api/v1/syntheses/region/01/participation").get_json()
    assert region["scope"]["name"] == "Région académique Guadeloupe"


def test_unknown_scope_or_table_is_a_json_404(client, session, compiled):
    for url in (
        "/api/v1/syntheses/academie/99",
        "/api/v1/syntheses/academie/poitiers",
        "/api/v1/syntheses/region/75",  # known région, not compiled in this fixture
        "/api/v1/syntheses/national/inconnue",
        "/api/v1/syntheses/academie/13/%3Cscript%3E",
        "/api/v1/syntheses/planete/13",
        "/api/v1/syntheses/region/99/participation",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.get_json()["error"]["status"] == 404
        assert response.get_json()["error"]["message"] == "Ressource introuvable."
        assert "<script>" not in response.get_data(as_text=True)
    assert client.post("/api/v1/syntheses/national").status_code == 405


def test_no_email_or_phone_in_the_api(client, session, compiled):
    for table in catalog.TABLE_NAMES:
        text = client.get(f"/api/v1/syntheses/national/{table}").get_data(as_text=True)
        decoded = json.dumps(json.loads(text), ensure_ascii=False)
        assert not EMAIL_RE.search(decoded), table
        assert not PHONE_RE.search(decoded), table
    topics = client.get("/api/v1/syntheses/national/topics").get_json()["data"]
    assert "[téléphone masqué]" in topics[0]["quote_1"]
    assert topics[1]["quote_1"] is None  # open answers are never quoted in public


def test_answers_follow_the_latest_compilation(client, session, compiled):
    first = client.get("/api/v1/syntheses/national/participation").get_json()
    assert abs(first["data"][1]["value"] - 50) <= privacy.D
    newer = compile_fixture(session, scale=2, finished=compiled.finished_at + timedelta(hours=1))
    second = client.get("/api/v1/syntheses/national/participation").get_json()
    assert second["compilation"]["id"] == newer.id
    assert abs(second["data"][1]["value"] - 100) <= privacy.D
    assert client.get("/api/v1/syntheses").get_json()["compilation"]["id"] == newer.id


def test_openapi_declares_the_synthesis_paths(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/syntheses",
        "/syntheses/national",
        "/syntheses/national/{table}",
        "/syntheses/academie/{code}",
        "/syntheses/academie/{code}/{table}",
        "/syntheses/region/{code}",
        "/syntheses/region/{code}/{table}",
    ):
        assert path in doc["paths"], path
        assert "get" in doc["paths"][path]
    table = doc["paths"]["/syntheses/region/{code}/{table}"]["get"]
    assert [p["name"] for p in table["parameters"]] == ["code", "table"]
    assert table["parameters"][1]["schema"]["enum"] == list(catalog.TABLE_NAMES)
    assert table["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SynthesisTable"
    }
    for schema in ("SynthesisIndex", "SynthesisScope", "SynthesisTable", "SynthesisScopeRef"):
        assert schema in doc["components"]["schemas"]
    operations = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(operations) == len(set(operations))
    index = client.get("/api/v1/").get_json()
    assert "/syntheses/national/{table}" in index["paths"]


def test_a_forged_host_does_not_poison_the_cache(client, session, compiled):
    # Links are built on SITE_URL: a forged Host header appears neither in its own answer nor
    # in anyone else's.
    forged = client.get("/api/v1/syntheses/national", headers={"Host": "piege.example"})
    assert "piege.example" not in json.dumps(forged.get_json())
    honest = client.get("/api/v1/syntheses/national").get_json()
    assert "piege.example" not in json.dumps(honest)
    assert honest["tables"][0]["url"].startswith("http://localhost/")
