"""Retex: the review workflow end to end, hostile input, attachments, search, exports, API."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from consult.db import db
from retex import queries, services
from retex.models import RetexAttachment, RetexRevision, RetexSheet
from tests.factories import RoleGrantFactory, UserFactory
from tests.retex_factories import HTML, JPEG, PDF, PNG, form_data, make_sheet, sheet_data

TOULOUSE = "16"
OCCITANIE = "76"


@pytest.fixture
def upload_dir(app, tmp_path):
    previous = app.config["RETEX_UPLOAD_DIR"]
    app.config["RETEX_UPLOAD_DIR"] = str(tmp_path / "retex")
    yield tmp_path / "retex"
    app.config["RETEX_UPLOAD_DIR"] = previous


def _coordinator(kind: str = "academie", code: str = TOULOUSE):
    user = UserFactory(academie_code=TOULOUSE)
    RoleGrantFactory(user=user, role="coordinator", scope_kind=kind, scope_code=code)
    return user


def _body(response) -> str:
    return response.get_data(as_text=True)


def _sheet_id(response) -> int:
    return int(response.headers["Location"].split("/retex/")[1].split("/")[0])


# --- The "Done when" -----------------------------------------------------------------


def test_toulouse_teacher_sheet_returned_then_published_end_to_end(client, session) -> None:
    teacher = UserFactory(audience="professeur", academie_code=TOULOUSE)
    coordinator = _coordinator()

    client.login(teacher.email)
    response = client.submit(
        "/retex/nouvelle",
        form_data(title="Tablettes pour tous à Toulouse", territory="academie:16"),
    )
    assert response.status_code == 302
    sheet_id = _sheet_id(response)
    # A draft is nobody else's business: not listed, not in the API, 404 for the public.
    assert (
        client.submit(
            f"/retex/{sheet_id}/soumettre", {}, page=f"/retex/{sheet_id}/suivi"
        ).status_code
        == 302
    )
    client.logout()
    assert client.get(f"/retex/{sheet_id}").status_code == 404

    client.login(coordinator.email)
    assert "Tablettes pour tous" in _body(client.get("/retex/mes-fiches"))
    response = client.submit(
        f"/retex/{sheet_id}/renvoyer",
        {"comment": "Ajoutez des indicateurs chiffrés, s'il vous plaît."},
        page=f"/retex/{sheet_id}/suivi",
    )
    assert response.status_code == 302
    client.logout()

    client.login(teacher.email)
    follow = _body(client.get(f"/retex/{sheet_id}/suivi"))
    assert "Renvoyée avec commentaires" in follow
    assert "Ajoutez des indicateurs chiffrés" in follow
    response = client.submit(
        f"/retex/{sheet_id}/modifier",
        form_data(
            title="Tablettes pour tous à Toulouse",
            results="320 tablettes prêtées ; décrochage passé de 18 % à 4 %.",
        ),
    )
    assert response.status_code == 302
    client.submit(f"/retex/{sheet_id}/soumettre", {}, page=f"/retex/{sheet_id}/suivi")
    client.logout()

    client.login(coordinator.email)
    response = client.submit(
        f"/retex/{sheet_id}/publier", {"comment": ""}, page=f"/retex/{sheet_id}/suivi"
    )
    assert response.status_code == 302
    client.logout()

    listing = _body(client.get("/retex/?territory=academie:16"))
    assert "Tablettes pour tous à Toulouse" in listing
    assert "320 tablettes" in _body(client.get(f"/retex/{sheet_id}"))
    api = client.get("/api/v1/retex?territory=academie:16").get_json()
    assert [row["id"] for row in api["data"]] == [sheet_id]
    assert api["data"][0]["results"].startswith("320 tablettes")
    assert client.get(f"/api/v1/retex/{sheet_id}").get_json()["version"] == 1
    rows = list(
        csv.DictReader(
            io.StringIO(_body(client.get("/retex/export.csv")).lstrip("\ufeff")), delimiter=";"
        )
    )
    assert [int(r["id"]) for r in rows] == [sheet_id]
    exported = json.loads(_body(client.get("/retex/export.json")))
    assert exported[0]["title"] == "Tablettes pour tous à Toulouse"
    # The région académique Occitanie page shows it too (territory panel query).
    with client.application.app_context():
        occitanie = queries.for_territory(db.session, "region", OCCITANIE, ["11", "16"])
    assert [r.sheet_id for r in occitanie] == [sheet_id]
    # Pseudonyms only: nothing identifies the author in public output.
    for body in (listing, json.dumps(api), json.dumps(exported)):
        assert teacher.email not in body


# --- Workflow rules ----------------------------------------------------------------------------


def test_every_published_version_is_kept(client, session) -> None:
    author = UserFactory(academie_code=TOULOUSE)
    coordinator = _coordinator()
    sheet = make_sheet(author, "published", reviewer=coordinator, title="Première version")
    services.update_sheet(session, sheet, sheet_data(title="Deuxième version"))
    # Until the new version is reviewed, the public still reads the first one.
    assert "Première version" in _body(client.get(f"/retex/{sheet.id}"))
    services.submit(session, sheet, author)
    services.publish(session, sheet, coordinator)
    assert sheet.published_version == 2
    history = _body(client.get(f"/retex/{sheet.id}/versions"))
    assert "Première version" in history and "Deuxième version" in history
    assert "Première version" in _body(client.get(f"/retex/{sheet.id}/versions/1"))
    assert "Deuxième version" in _body(client.get(f"/retex/{sheet.id}"))
    assert client.get(f"/retex/{sheet.id}/versions/3").status_code == 404
    # Search finds the current version only.
    found, total = queries.page_of(session, queries.Filters(q="Deuxième"), 1)
    assert [r.title for r in found] == ["Deuxième version"]
    assert total == 1
    assert queries.page_of(session, queries.Filters(q="Première"), 1)[1] == 0


def test_nobody_publishes_without_review(client, session) -> None:
    coordinator = _coordinator()
    # A draft cannot be published, even by the territory's coordinator.
    author = UserFactory(academie_code=TOULOUSE)
    draft = make_sheet(author)
    client.login(coordinator.email)
    response = client.submit(f"/retex/{draft.id}/publier", {}, page="/retex/")
    assert response.status_code == 403
    client.logout()
    # The coordinator's own sheet needs another reviewer.
    own = make_sheet(coordinator, "submitted")
    client.login(coordinator.email)
    assert client.submit(f"/retex/{own.id}/publier", {}, page="/retex/").status_code == 403
    client.logout()
    # The author cannot publish their own submitted sheet.
    submitted = make_sheet(author, "submitted")
    client.login(author.email)
    assert client.submit(f"/retex/{submitted.id}/publier", {}, page="/retex/").status_code == 403
    session.refresh(submitted)
    assert submitted.published_version == 0
    assert session.scalar(select(func.count()).select_from(RetexRevision)) == 0


def test_coordinator_of_another_territory_is_refused(client, session) -> None:
    author = UserFactory(academie_code=TOULOUSE)
    sheet = make_sheet(author, "submitted")
    poitiers = _coordinator("academie", "13")
    client.login(poitiers.email)
    assert client.get(f"/retex/{sheet.id}/suivi").status_code == 403
    assert client.get(f"/retex/{sheet.id}/modifier").status_code == 403
    assert (
        client.submit(f"/retex/{sheet.id}/modifier", form_data(), page="/retex/").status_code == 403
    )
    assert client.submit(f"/retex/{sheet.id}/publier", {}, page="/retex/").status_code == 403
    response = client.submit(f"/retex/{sheet.id}/renvoyer", {"comment": "Non"}, page="/retex/")
    assert response.status_code == 403
    session.refresh(sheet)
    assert sheet.status == "submitted"


def test_region_coordinator_covers_its_academies_and_departements(session) -> None:
    from consult.permissions import authorize
    from retex.permissions import Permission

    author = UserFactory(academie_code=TOULOUSE)
    region = _coordinator("region", OCCITANIE)
    academie = _coordinator("academie", TOULOUSE)
    other_region = _coordinator("region", "75")
    dept_sheet = make_sheet(author, "submitted", territory="departement:31")
    region_sheet = make_sheet(author, "submitted", territory="region:76")
    assert authorize(region, Permission.REVIEW, dept_sheet)
    assert authorize(academie, Permission.REVIEW, dept_sheet)
    assert not authorize(other_region, Permission.REVIEW, dept_sheet)
    assert authorize(region, Permission.REVIEW, region_sheet)
    # An académie coordinator does not review the whole région's sheets.
    assert not authorize(academie, Permission.REVIEW, region_sheet)
    # Hérault (34) belongs to Montpellier: Toulouse's coordinator has no say.
    herault = make_sheet(author, "submitted", territory="departement:34")
    assert not authorize(academie, Permission.REVIEW, herault)
    assert authorize(region, Permission.REVIEW, herault)


def test_return_requires_a_comment(client, session) -> None:
    sheet = make_sheet(UserFactory(academie_code=TOULOUSE), "submitted")
    client.login(_coordinator().email)
    response = client.submit(
        f"/retex/{sheet.id}/renvoyer", {"comment": "   "}, page=f"/retex/{sheet.id}/suivi"
    )
    assert response.status_code == 422
    assert "Expliquez ce qu" in _body(response)
    response = client.submit(
        f"/retex/{sheet.id}/renvoyer", {"comment": "x" * 3001}, page=f"/retex/{sheet.id}/suivi"
    )
    assert response.status_code == 422
    session.refresh(sheet)
    assert sheet.status == "submitted"


def test_double_publication_is_a_conflict(client, session) -> None:
    sheet = make_sheet(UserFactory(academie_code=TOULOUSE), "submitted")
    client.login(_coordinator().email)
    token_page = f"/retex/{sheet.id}/suivi"
    assert client.submit(f"/retex/{sheet.id}/publier", {}, page=token_page).status_code == 302
    # The second click of a double submit: the sheet is no longer awaiting review.
    assert client.submit(f"/retex/{sheet.id}/publier", {}, page="/retex/").status_code == 403
    assert session.scalar(select(func.count()).select_from(RetexRevision)) == 1


def test_workflow_transition_race_is_refused(session) -> None:
    sheet = make_sheet(UserFactory(academie_code=TOULOUSE), "submitted")
    coordinator = _coordinator()
    services.publish(session, sheet, coordinator)
    with pytest.raises(services.RetexError) as refused:
        services.return_with_comment(session, sheet, coordinator, "Trop tard")
    assert refused.value.status == 409


# --- Hostile form input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("territory", "academie:99", "pas un choix valide"),
        ("territory", "departement:2A'; DROP TABLE retex_sheet;--", "pas un choix valide"),
        ("territory", "", "Choisissez un territoire"),
        ("title", "", "Ce champ est requis"),
        ("title", "x" * 10_000, "entre 5 et 160"),
        ("context", "x" * 10_000, "plus de 6000"),
        ("themes", ["9"], "pas un choix valide"),
        ("themes", [], "Choisissez au moins un thème"),
        ("audiences", ["martien"], "pas un choix valide"),
        ("period", "ete_2019", "pas un choix valide"),
        ("contact_role", "x" * 500, "plus de 120"),
    ],
)
def test_sheet_form_rejects_hostile_input(client, session, field, value, message) -> None:
    client.login(UserFactory().email)
    response = client.submit("/retex/nouvelle", form_data(**{field: value}))
    assert response.status_code == 422
    assert message in _body(response)
    assert session.scalar(select(func.count()).select_from(RetexSheet)) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("context", "Écrivez-moi : prof.dupont@ac-toulouse.fr"),
        ("lessons", "Appelez le 06 12 34 56 78"),
        ("contact_role", "Mme Martin, +33 5 61 00 00 00"),
        ("title", "Contact : jean@exemple.fr pour le prêt"),
    ],
)
def test_personal_data_in_public_fields_is_refused(client, session, field, value) -> None:
    client.login(UserFactory().email)
    response = client.submit("/retex/nouvelle", form_data(**{field: value}))
    assert response.status_code == 422
    assert "Retirez les adresses électroniques" in _body(response)
    assert session.scalar(select(func.count()).select_from(RetexSheet)) == 0


def test_missing_csrf_is_refused(client, session) -> None:
    client.login(UserFactory().email)
    response = client.post("/retex/nouvelle", data=form_data())
    assert response.status_code == 400
    assert session.scalar(select(func.count()).select_from(RetexSheet)) == 0


def test_markup_is_escaped_and_markdown_sanitised(client, session) -> None:
    sheet = make_sheet(UserFactory(academie_code=TOULOUSE), "published", reviewer=_coordinator())
    page = _body(client.get(f"/retex/{sheet.id}"))
    assert "<script>alert('x')</script>" not in page
    assert "&lt;script&gt;" in page
    assert "<img" not in page
    assert "<strong>un élève sur cinq</strong>" in page
    assert "<b>adjoint</b>" not in page


def test_anonymous_visitors_are_sent_to_login(client, session) -> None:
    response = client.get("/retex/nouvelle")
    assert response.status_code == 302
    assert "/compte/connexion" in response.headers["Location"]


def test_tampered_ids_and_filters(client, session) -> None:
    assert client.get("/retex/999999").status_code == 404
    assert client.get("/retex/999999/versions").status_code == 404
    assert client.get("/api/v1/retex/999999").status_code == 404
    assert client.get("/retex/pieces-jointes/999999").status_code == 404
    # Pages ignore unknown filter values; the API, whose document lists the valid ones, refuses
    # them (400) or answers that the territory does not exist (404). Paging out of range: 404.
    for query, api_status in (
        ("territory=academie:99", 404),
        ("theme=%25", 400),
        ("audience=' OR 1=1", 400),
        ("q=" + "x" * 500, 400),
    ):
        assert client.get(f"/retex/?{query}").status_code == 200
        assert client.get(f"/api/v1/retex?{query}").status_code == api_status
    assert client.get("/retex/?page=-3").status_code == 404
    assert client.get("/api/v1/retex?cursor=abc&limit=100000").status_code == 400


# --- Attachments --------------------------------------------------------------------------------


def _upload(client, sheet_id: int, content: bytes, name: str, label: str = ""):
    return client.submit(
        f"/retex/{sheet_id}/pieces-jointes",
        {"file": (io.BytesIO(content), name), "label": label},
        page=f"/retex/{sheet_id}/suivi",
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    ("content", "name", "status"),
    [
        (HTML, "rapport.pdf", 415),  # an HTML page named .pdf
        (PDF, "rapport.html", 415),  # the right content, a lying extension
        (PNG, "image.jpg", 415),
        (b"", "vide.pdf", 422),
        (b"MZ\x90\x00executable", "outil.pdf", 415),
        (PDF + b"0" * 2048, "gros.pdf", 413),
    ],
)
def test_refused_uploads_leave_nothing(
    client, session, app, upload_dir, content, name, status
) -> None:
    app.config["RETEX_MAX_ATTACHMENT_BYTES"] = 2048
    try:
        author = UserFactory()
        sheet = make_sheet(author)
        client.login(author.email)
        response = _upload(client, sheet.id, content, name)
        assert response.status_code == status
        assert "fr-error-text" in _body(response)
    finally:
        app.config["RETEX_MAX_ATTACHMENT_BYTES"] = 5 * 1024 * 1024
    assert session.scalar(select(func.count()).select_from(RetexAttachment)) == 0
    assert not upload_dir.exists() or list(upload_dir.iterdir()) == []


def test_no_file_left_when_the_transaction_fails(app, session, upload_dir) -> None:
    author = UserFactory()
    sheet = make_sheet(author)
    with app.test_request_context():
        services.add_attachment(db.session, sheet, io.BytesIO(PDF), "bilan.pdf", "")
        assert len(list(upload_dir.iterdir())) == 1
        db.session.rollback()
    assert list(upload_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "name", "mime"),
    [
        (PDF, "bilan.pdf", "application/pdf"),
        (PNG, "affiche.png", "image/png"),
        (JPEG, "photo.JPEG", "image/jpeg"),
    ],
)
def test_attachment_lifecycle_and_headers(client, session, upload_dir, content, name, mime) -> None:
    author = UserFactory(academie_code=TOULOUSE)
    coordinator = _coordinator()
    sheet = make_sheet(author)
    client.login(author.email)
    assert _upload(client, sheet.id, content, name, "Bilan <i>chiffré</i>").status_code == 302
    attachment = session.scalars(select(RetexAttachment)).one()
    stored = Path(upload_dir) / attachment.stored_name
    assert stored.read_bytes() == content
    # Outside the web root: nothing under static/ is ever written.
    assert "static" not in stored.parts
    client.logout()
    # Not public before the sheet is reviewed and published.
    assert client.get(f"/retex/pieces-jointes/{attachment.id}").status_code == 404
    services.submit(session, sheet, author)
    services.publish(session, sheet, coordinator)
    response = client.get(f"/retex/pieces-jointes/{attachment.id}")
    assert response.status_code == 200
    assert response.mimetype == mime
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.get_data() == content
    response.close()
    assert "<i>chiffré</i>" not in _body(client.get(f"/retex/{sheet.id}"))


def test_attachment_deletion_removes_the_file(client, session, upload_dir) -> None:
    author = UserFactory()
    sheet = make_sheet(author)
    client.login(author.email)
    _upload(client, sheet.id, PDF, "bilan.pdf")
    attachment = session.scalars(select(RetexAttachment)).one()
    other = UserFactory()
    client.logout()
    client.login(other.email)
    response = client.submit(f"/retex/pieces-jointes/{attachment.id}/supprimer", {}, page="/retex/")
    assert response.status_code == 403
    assert client.get(f"/retex/pieces-jointes/{attachment.id}").status_code == 404
    client.logout()
    client.login(author.email)
    response = client.submit(
        f"/retex/pieces-jointes/{attachment.id}/supprimer", {}, page=f"/retex/{sheet.id}/suivi"
    )
    assert response.status_code == 302
    assert list(upload_dir.iterdir()) == []


# --- Search, filters, exports, API ---------------------------------------------------------


def test_filters_and_full_text_search(client, session) -> None:
    author = UserFactory(academie_code=TOULOUSE)
    coordinator = _coordinator("region", OCCITANIE)
    make_sheet(
        author,
        "published",
        reviewer=coordinator,
        title="Podcasts de lecture",
        themes=["2"],
        audiences=["eleve"],
        school_level="premier_degre",
        period="apres",
        territory="departement:31",
        context="Des enregistrements audio pour les lecteurs débutants.",
    )
    make_sheet(
        author,
        "published",
        reviewer=coordinator,
        title="Tablettes prêtées",
        themes=["1"],
        audiences=["parent"],
        territory="academie:11",
    )
    make_sheet(author, "submitted", title="Fiche non relue sur les podcasts")

    def titles(query: str) -> list[str]:
        return [r["title"] for r in client.get(f"/api/v1/retex?{query}").get_json()["data"]]

    assert titles("q=enregistrements") == ["Podcasts de lecture"]
    assert titles("q=podcasts") == ["Podcasts de lecture"]  # never the unreviewed one
    assert titles("theme=1") == ["Tablettes prêtées"]
    assert titles("audience=eleve") == ["Podcasts de lecture"]
    assert titles("level=premier_degre") == ["Podcasts de lecture"]
    assert titles("period=apres") == ["Podcasts de lecture"]
    assert titles("territory=departement:31") == ["Podcasts de lecture"]
    assert titles("territory=academie:16") == ["Podcasts de lecture"]
    assert sorted(titles("territory=region:76")) == ["Podcasts de lecture", "Tablettes prêtées"]
    assert titles("q=%22%29%20NEAR%20zzzz%20*") == []  # FTS syntax is neutralised, never an error
    page = _body(client.get("/retex/?q=podcasts"))
    assert "Podcasts de lecture" in page and "Fiche non relue" not in page


def test_api_cursor_pagination_and_openapi(client, session) -> None:
    author = UserFactory(academie_code=TOULOUSE)
    coordinator = _coordinator()
    ids = [make_sheet(author, "published", reviewer=coordinator).id for _ in range(5)]
    seen, url = [], "/api/v1/retex?limit=2"
    while url:
        payload = client.get(url).get_json()
        seen += [row["id"] for row in payload["data"]]
        url = payload["next"]
    assert seen == ids
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/retex" in spec["paths"] and "/retex/{sheet_id}" in spec["paths"]
    assert "RetexSheet" in spec["components"]["schemas"]
    row = client.get(f"/api/v1/retex/{ids[0]}").get_json()
    assert set(row) <= set(spec["components"]["schemas"]["RetexSheet"]["properties"])
    assert "author" not in json.dumps(row)


def test_export_is_streamed_and_filtered(client, session) -> None:
    author = UserFactory(academie_code=TOULOUSE)
    coordinator = _coordinator()
    make_sheet(author, "published", reviewer=coordinator, themes=["3"])
    make_sheet(author, "published", reviewer=coordinator, themes=["4"])
    response = client.get("/retex/export.csv?theme=3")
    assert response.is_streamed
    assert response.headers["Content-Disposition"] == 'attachment; filename="retex.csv"'
    rows = list(csv.DictReader(io.StringIO(_body(response).lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == 1 and rows[0]["themes"] == "3"
    response = client.get("/retex/export.json?theme=4")
    assert response.is_streamed
    assert [r["themes"] for r in json.loads(_body(response))] == [["4"]]


def test_home_counter_and_territory_panel(client, session) -> None:
    sheet = make_sheet(UserFactory(academie_code=TOULOUSE), "published", reviewer=_coordinator())
    with client.application.test_request_context():
        from flask import render_template_string

        html = render_template_string(
            '{% include "retex/_territory_panel.html" %}',
            territory={
                "kind": "academie",
                "code": TOULOUSE,
                "name": "Toulouse",
                "slug": "toulouse",
            },
            academie_codes=[TOULOUSE],
        )
        empty = render_template_string(
            '{% include "retex/_territory_panel.html" %}',
            territory={"kind": "academie", "code": "13", "name": "Poitiers", "slug": "poitiers"},
            academie_codes=["13"],
        )
    assert f"/retex/{sheet.id}" in html
    assert "Aucune fiche publiée" in empty
    assert "fiches Retex publiées" in _body(client.get("/"))


# --- Account hooks ------------------------------------------------------------------------------


def test_personal_data_and_account_deletion(session, upload_dir, app) -> None:
    author = UserFactory(academie_code=TOULOUSE)
    coordinator = _coordinator()
    published = make_sheet(author, "published", reviewer=coordinator)
    draft = make_sheet(author, title="Brouillon privé")
    with app.test_request_context():
        services.add_attachment(session, draft, io.BytesIO(PDF), "brouillon.pdf", "")
        session.commit()
        data = services.personal_data(session, author)
        assert {s["id"] for s in data["retex_sheets"]} == {published.id, draft.id}
        services.erase_account(session, author)
        session.commit()
        remaining = set(session.scalars(select(RetexSheet.id)))
    assert draft.id not in remaining
    assert published.id in remaining
    assert list(upload_dir.iterdir()) == []


def test_review_queue_follows_the_territories(client, session) -> None:
    author = UserFactory(academie_code=TOULOUSE)
    academie = _coordinator()
    region = _coordinator("region", OCCITANIE)
    sheets = {
        "toulouse": make_sheet(author, "submitted", title="Fiche de Toulouse"),
        "garonne": make_sheet(
            author, "submitted", title="Fiche de Haute-Garonne", territory="departement:31"
        ),
        "occitanie": make_sheet(
            author, "submitted", title="Fiche d'Occitanie", territory="region:76"
        ),
        "montpellier": make_sheet(
            author, "submitted", title="Fiche de Montpellier", territory="academie:11"
        ),
        "poitiers": make_sheet(
            author, "submitted", title="Fiche de Poitiers", territory="academie:13"
        ),
        "own": make_sheet(academie, "submitted", title="Fiche du coordinateur"),
    }
    assert {s.id for s in queries.review_queue(session, academie)} == {
        sheets["toulouse"].id,
        sheets["garonne"].id,
    }
    assert {s.id for s in queries.review_queue(session, region)} == {
        sheets[k].id for k in ("toulouse", "garonne", "occitanie", "montpellier", "own")
    }
    assert queries.review_queue(session, author) == []
    client.login(academie.email)
    page = _body(client.get("/retex/mes-fiches"))
    assert "Fiche de Haute-Garonne" in page and "Fiche de Poitiers" not in page


def test_a_deleted_sheet_is_no_longer_found_by_search(client, session) -> None:
    """SQLite reuses a deleted revision's id: an FTS5 row left behind made the deleted text
    find the next sheet published. PostgreSQL's vector lives on the revision row."""
    from sqlalchemy import text

    author = UserFactory(academie_code=TOULOUSE)
    coordinator = _coordinator("region", OCCITANIE)
    doomed = make_sheet(
        author,
        "published",
        reviewer=coordinator,
        title="Fiche vouée à disparaître",
        context="Une expérience de xylophones numériques en maternelle.",
    )

    def titles(query: str) -> list[str]:
        return [r["title"] for r in client.get(f"/api/v1/retex?{query}").get_json()["data"]]

    assert titles("q=xylophones") == ["Fiche vouée à disparaître"]
    session.delete(doomed)
    session.flush()
    # No index row outlives its sheet (consult.search keeps one per revision, by triggers).
    assert session.scalar(text("SELECT count(*) FROM retex_revision_search")) == session.scalar(
        text("SELECT count(*) FROM retex_revision")
    )
    make_sheet(author, "published", reviewer=coordinator, title="Une autre fiche")
    assert titles("q=xylophones") == []
    assert "Une autre fiche" not in _body(client.get("/retex/?q=xylophones"))
