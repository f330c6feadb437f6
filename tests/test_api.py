from __future__ import annotations

import json

from tests.factories import UserFactory


def test_openapi_document(client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.")
    assert "/territories" in doc["paths"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_territories_endpoint(client) -> None:
    data = client.get("/api/v1/territories").get_json()
    assert len(data["regions_academiques"]) == 18
    assert len(data["academies"]) == 30
    assert len(data["departements"]) == 101
    poitiers = next(a for a in data["academies"] if a["slug"] == "poitiers")
    assert poitiers["region_academique"] == "75"
    assert set(poitiers["departements"]) == {"16", "17", "79", "86"}


def test_api_errors_are_json_in_french(client) -> None:
    response = client.get("/api/v1/rien")
    assert response.status_code == 404
    assert response.get_json()["error"]["message"] == "Ressource introuvable."
    response = client.post("/api/v1/territories")
    assert response.status_code == 405
    assert "lecture seule" in response.get_json()["error"]["message"]


def test_api_never_exposes_emails(client, session) -> None:
    UserFactory(email="secret@exemple.test")
    for path in ("/api/v1/", "/api/v1/territories", "/api/v1/openapi.json"):
        body = client.get(path).get_data(as_text=True)
        assert "@" not in json.dumps(json.loads(body)).replace("@context", "")
