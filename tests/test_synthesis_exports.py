"""Synthesis exports: every format read back and compared with the store, suppression in public
files, detailed files for analysts only, the zip with its README, the per-compilation cache."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import datetime, timedelta
from xml.etree import ElementTree

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from consult.db import utcnow
from synthesis import catalog, exports, privacy, store
from tests.factories import RoleGrantFactory, UserFactory

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE_RE = re.compile(r"(?:\+33|0)\s*[1-9](?:[\s.-]*\d{2}){4}")
ODS_NS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
}
SAFE_DISPOSITION = re.compile(
    r'^attachment; filename=[a-z0-9._-]+$|^attachment; filename="[a-z0-9._-]+"$'
)


def fetch(client, url: str):
    """GET, buffer the body and close the file behind it (send_file keeps it open until then)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def participation(scale: int = 1) -> pd.DataFrame:
    # eleve rests on 3 people: suppressed; professeur (the next smallest part of the same
    # indicator) goes with it, or eleve = total − parent − professeur.
    rows = [
        ("eleve", "participants", 3, 3),
        ("parent", "participants", 50 * scale, 50 * scale),
        ("professeur", "participants", 40, 40),
        ("*", "participants", 43 + 50 * scale, 43 + 50 * scale),
        ("parent", "contributions", 120, 30),
        ("*", "contributions", 120, 30),
    ]
    return pd.DataFrame(rows, columns=["audience", "indicator", "value", "people"])


def forum_top() -> pd.DataFrame:
    return pd.DataFrame(
        [
            (
                "egalite-acces",
                "adopted",
                1,
                11,
                "Des tablettes <b>pour</b> tous ; écrire à jean.dupont@exemple.fr",
                30,
                5,
                0.7123,
                4,
                1,
                5,
                35,
            ),
            (
                "egalite-acces",
                "adopted",
                2,
                12,
                "Former « les » professeurs",
                4,
                2,
                0.25,
                0,
                0,
                0,
                6,
            ),
        ],
        columns=catalog.spec("forum_top").column_names,
    )


def topics() -> pd.DataFrame:
    return pd.DataFrame(
        [
            (
                "contributions",
                1,
                "Tablette et réseau",
                25,
                "tablette, réseau",
                "Appelez le 06 12 34 56 78 pour le réseau",
                "contribution:11",
                "Le réseau tombe",
                "contribution:12",
                "Il faut des tablettes",
                "comment:4",
                25,
            ),
            (
                "open_answers",
                1,
                "Devoirs et ENT",
                40,
                "devoirs, ent",
                "Réponse libre privée",
                "answer:1",
                "Autre réponse",
                "answer:2",
                "Encore une",
                "answer:3",
                40,
            ),
        ],
        columns=catalog.spec("topics").column_names,
    )


def survey_distribution() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("q1", "oui", "*", 30, 50, 0.6, 0.55, 41.5, 30),
            ("q1", "non", "*", 20, 50, 0.4, 0.45, 41.5, 20),
            ("q1", "oui", "parent", 5, 9, 0.5556, None, None, 5),
            ("q1", "non", "parent", 4, 9, 0.4444, None, None, 4),
        ],
        columns=catalog.spec("survey_distribution").column_names,
    )


def retex_recent() -> pd.DataFrame:
    return pd.DataFrame(
        [(7, "Classe <i>mobile</i>", "13", "2026-03-02T10:00:00", "1, 2")],
        columns=catalog.spec("retex_recent").column_names,
    )


def compile_fixture(session, *, scale: int = 1, finished: datetime | None = None):
    compilation = store.start(session, trigger="cli")
    tables = {
        "participation": participation(scale),
        "forum_top": forum_top(),
        "topics": topics(),
        "survey_distribution": survey_distribution(),
        "retex_recent": retex_recent(),
    }
    store.save(session, compilation, catalog.Scope("national", ""), tables)
    store.save(session, compilation, catalog.Scope("academie", "13"), tables)
    store.save(session, compilation, catalog.Scope("region", "01"), tables)
    compilation.status = "done"
    compilation.finished_at = finished or utcnow()
    session.flush()
    return compilation


@pytest.fixture(autouse=True)
def _noise_free(monkeypatch):
    """These tests read the files' formats, markers and hidden rows with the true figures: the
    ptable is set to "no noise" here (the perturbation itself is tested in
    test_synthesis_privacy.py and by the attackers)."""
    monkeypatch.setattr(privacy, "_CUMULATIVE", ((0, 1.0),))
    privacy._CACHE.clear()
    yield
    privacy._CACHE.clear()


@pytest.fixture
def export_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "SYNTHESIS_EXPORT_DIR", str(tmp_path / "exports"))
    return tmp_path / "exports"


@pytest.fixture
def compiled(session, export_dir):
    return compile_fixture(session)


@pytest.fixture
def analyst(session):
    user = UserFactory()
    RoleGrantFactory(user=user, role="analyst", scope_kind="national", scope_code="")
    return user


def _csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def _public(session, name: str) -> pd.DataFrame:
    return store.load(session, "national", "", public=True)[name]


def _detail(session, name: str) -> pd.DataFrame:
    return store.load(session, "national", "", public=False)[name]


def _ods_sheets(data: bytes) -> dict[str, list[list[str]]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist()[0] == "mimetype"
        # Our own export, parsed to validate it.
        root = ElementTree.fromstring(archive.read("content.xml"))  # noqa: S314
    sheets = {}
    for table in root.iter(f"{{{ODS_NS['table']}}}table"):
        name = table.get(f"{{{ODS_NS['table']}}}name")
        rows = []
        for row in table.iter(f"{{{ODS_NS['table']}}}table-row"):
            cells = []
            for cell in row.iter(f"{{{ODS_NS['table']}}}table-cell"):
                cells.append("".join(cell.itertext()))
            rows.append(cells)
        sheets[name] = rows
    return sheets


# --- Public files -------------------------------------------------------------------------------


def test_public_csv_suppresses_small_figures_and_their_complement(client, session, compiled):
    response = fetch(client, "/syntheses/export/national/participation.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = _csv(response)
    assert rows[0] == ["audience", "indicator", "value", "people", "suppressed"]
    by_key = {(r[0], r[1]): r for r in rows[1:]}
    marker = privacy.MARKER
    assert by_key[("eleve", "participants")] == ["eleve", "participants", marker, marker, "1"]
    # No complementary cell: eleve = 93 − 50 − 40 only within the perturbations' bounds.
    assert by_key[("professeur", "participants")][2:] == ["40", "40", "0"]
    assert by_key[("parent", "participants")][2:] == ["50", "50", "0"]
    assert by_key[("*", "participants")][2:] == ["93", "93", "0"]
    # Same rows, same order as the store's public table.
    public = _public(session, "participation")
    assert [r[:2] for r in rows[1:]] == public[["audience", "indicator"]].values.tolist()
    assert "3" not in {r[2] for r in rows[1:]}


def test_csv_with_commas_on_request_holds_the_same_cells(client, session, compiled):
    semicolon = _csv(fetch(client, "/syntheses/export/national/forum_top.csv"))
    response = fetch(client, "/syntheses/export/national/forum_top.csv?sep=comma")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "forum_top" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert not body.startswith("\ufeff")
    # The guarded cells stay guarded once, numbers stay numbers.
    assert list(csv.reader(io.StringIO(body))) == semicolon


def test_public_json_has_metadata_and_nulls(client, session, compiled):
    response = fetch(client, "/syntheses/export/national/participation.json")
    assert response.status_code == 200
    doc = json.loads(response.get_data())
    assert doc["table"] == "participation"
    assert doc["public"] is True
    assert doc["suppression_threshold"] == 10
    assert doc["scope"] == {"kind": "national", "code": "", "name": "France entière"}
    assert doc["compilation_id"] == compiled.id
    assert doc["compiled_at"] == compiled.finished_at.replace(microsecond=0).isoformat() + "+00:00"
    assert "Licence Ouverte" in doc["licence"]
    assert [c["key"] for c in doc["columns"]] == [
        "audience",
        "indicator",
        "value",
        "people",
        "suppressed",
    ]
    eleve = doc["rows"][0]
    assert eleve == {
        "audience": "eleve",
        "indicator": "participants",
        "value": None,
        "people": None,
        "suppressed": True,
    }
    public = _public(session, "participation")
    expected = [
        {k: (None if pd.isna(v) else v) for k, v in row.items()}
        for row in public.astype(object).to_dict("records")
    ]
    assert doc["rows"] == expected


def test_public_parquet_is_typed_with_null_suppressed_cells(client, session, compiled):
    response = fetch(client, "/syntheses/export/national/participation.parquet")
    assert response.status_code == 200
    table = pq.read_table(io.BytesIO(response.get_data()))
    assert str(table.schema.field("value").type) == "int64"
    assert str(table.schema.field("people").type) == "int64"
    assert str(table.schema.field("suppressed").type) == "bool"
    assert str(table.schema.field("audience").type) == "string"
    data = table.to_pylist()
    assert data[0]["value"] is None and data[0]["suppressed"] is True
    assert data[1] == {
        "audience": "parent",
        "indicator": "participants",
        "value": 50,
        "people": 50,
        "suppressed": False,
    }
    meta = json.loads(table.schema.metadata[b"consult"])
    assert meta["table"] == "participation" and meta["public"] is True
    shares = pq.read_table(
        io.BytesIO(
            fetch(client, "/syntheses/export/national/survey_distribution.parquet").get_data()
        )
    )
    assert str(shares.schema.field("share").type) == "double"
    assert str(shares.schema.field("count").type) == "int64"
    # The parent rows rest on 5 and 4 people: suppressed, null; the total rows are shown.
    values = shares.column("share").to_pylist()
    assert values == [0.6, 0.4, None, None]


def test_public_xlsx_reads_back(client, session, compiled):
    response = fetch(client, "/syntheses/export/national/participation.xlsx")
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
    assert workbook.sheetnames == ["participation", "colonnes"]
    rows = [list(r) for r in workbook["participation"].iter_rows(values_only=True)]
    assert rows[0] == ["audience", "indicator", "value", "people", "suppressed"]
    assert rows[1] == ["eleve", "participants", privacy.MARKER, privacy.MARKER, 1]
    assert rows[2] == ["parent", "participants", 50, 50, 0]
    columns = [list(r) for r in workbook["colonnes"].iter_rows(values_only=True)]
    assert columns[0] == ["table", "colonne", "libelle", "description"]
    assert columns[4][:3] == ["participation", "people", "Personnes"]
    workbook.close()


def test_public_ods_reads_back(client, session, compiled):
    response = fetch(client, "/syntheses/export/national/survey_distribution.ods")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.oasis.opendocument.spreadsheet"
    sheets = _ods_sheets(response.get_data())
    assert list(sheets) == ["survey_distribution", "colonnes"]
    rows = sheets["survey_distribution"]
    assert rows[0] == [*catalog.spec("survey_distribution").column_names, "suppressed"]
    assert rows[1] == ["q1", "oui", "*", "30", "50", "0.6", "0.55", "41.5", "30", "0"]
    # Suppressed figures read the neutral marker; a null weighted share of a shown row stays
    # empty.
    assert rows[3][3:] == [privacy.MARKER] * 6 + ["1"]


def test_text_is_masked_and_open_answers_never_quoted(client, session, compiled):
    top = fetch(client, "/syntheses/export/national/forum_top.csv").get_data(as_text=True)
    assert "jean.dupont" not in top and "[adresse masquée]" in top
    # Markup stays text: CSV is not HTML, but nothing is dropped or altered either.
    assert "Des tablettes <b>pour</b> tous" in top
    doc = json.loads(fetch(client, "/syntheses/export/national/topics.json").get_data())
    contributions, answers = doc["rows"]
    assert "06 12 34 56 78" not in contributions["quote_1"]
    assert "[téléphone masqué]" in contributions["quote_1"]
    assert answers["corpus"] == "open_answers"
    assert answers["quote_1"] is None and answers["quote_2"] is None
    assert answers["size"] == 40
    # Each topic has a readable title beside its keywords.
    assert (contributions["label"], contributions["keywords"]) == (
        "Tablette et réseau",
        "tablette, réseau",
    )


# --- Detailed files -----------------------------------------------------------------------------


def test_detail_refused_to_visitors_and_participants(client, session, compiled, user):
    for url in (
        "/syntheses/export/national/participation.csv?detail=1",
        "/syntheses/export/national.zip?detail=1",
        "/syntheses/export/national/?detail=1",
    ):
        response = fetch(client, url)
        assert response.status_code == 403, url
        assert "réservées aux analystes" in response.get_data(as_text=True)
    client.login(user.email)
    response = fetch(client, "/syntheses/export/national/participation.csv?detail=1")
    assert response.status_code == 403
    assert (
        fetch(client, "/syntheses/export/national/participation.csv?detail=oui").status_code == 400
    )


def test_detail_for_analysts_is_unsuppressed(client, session, compiled, analyst):
    client.login(analyst.email)
    response = fetch(client, "/syntheses/export/national/participation.csv?detail=1")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "-detail.csv" in response.headers["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == ["audience", "indicator", "value", "people"]
    detail = _detail(session, "participation")
    assert [[int(v) if v.isdigit() else v for v in r] for r in rows[1:]] == detail.astype(
        object
    ).values.tolist()
    assert rows[1] == ["eleve", "participants", "3", "3"]
    parquet = pq.read_table(
        io.BytesIO(fetch(client, "/syntheses/export/national/participation.parquet?detail=1").data)
    )
    assert parquet.column("people").to_pylist() == [3, 50, 40, 93, 30, 30]
    # Analysts download public files too, unchanged.
    assert _csv(fetch(client, "/syntheses/export/national/participation.csv"))[1][2] == (
        privacy.MARKER
    )


# --- Errors -------------------------------------------------------------------------------------


def test_unknown_table_format_or_scope_is_a_french_404(client, session, compiled):
    for url, message in (
        ("/syntheses/export/national/inconnue.csv", "Cette table de synthèse n'existe pas"),
        ("/syntheses/export/national/participation.exe", "Format inconnu"),
        ("/syntheses/export/national/participation.zip", "Format inconnu"),
        ("/syntheses/export/academie/atlantide/participation.csv", "Ce territoire n'existe pas"),
        ("/syntheses/export/planete/13/participation.csv", "Ce territoire n'existe pas"),
        ("/syntheses/export/academie/99.zip", "Ce territoire n'existe pas"),
        ("/syntheses/export/academie/%3Cscript%3E/", "Ce territoire n'existe pas"),
    ):
        response = fetch(client, url)
        assert response.status_code == 404, url
        body = response.get_data(as_text=True)
        assert message.replace("'", "&#39;") in body or message in body, url
        assert "<script>" not in body


def test_no_compilation_is_a_404_with_a_message(client, session, export_dir):
    for url in (
        "/syntheses/export/national/participation.csv",
        "/syntheses/export/national.zip",
        "/syntheses/export/national/",
    ):
        response = fetch(client, url)
        assert response.status_code == 404
        assert "Aucune synthèse n&#39;a encore été compilée" in response.get_data(as_text=True)


def test_running_compilation_is_not_served(client, session, compiled):
    newer = store.start(session)
    store.save(session, newer, catalog.Scope("national", ""), {"participation": participation(2)})
    session.flush()
    rows = _csv(fetch(client, "/syntheses/export/national/participation.csv"))
    assert rows[2][2] == "50"


# --- Zip and cache ------------------------------------------------------------------------------


def test_zip_holds_readme_and_every_table_in_every_format(client, session, compiled):
    response = fetch(client, "/syntheses/export/national.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=synthese-nationale.zip"
    )
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    names = set(archive.namelist())
    expected = {"README.md", "synthese-nationale.xlsx", "synthese-nationale.ods"}
    for table in catalog.TABLE_NAMES:
        expected |= {f"csv/{table}.csv", f"json/{table}.json", f"parquet/{table}.parquet"}
    assert names == expected
    readme = archive.read("README.md").decode("utf-8")
    assert "Licence Ouverte" in readme and "etalab" in readme
    assert compiled.finished_at.strftime("%d/%m/%Y") in readme
    assert "moins de 10 personnes" in readme and privacy.MARKER in readme
    assert "légèrement perturbés" in readme and "somme de ses parties" in readme
    for table in catalog.TABLE_NAMES:
        assert f"### `{table}`" in readme
        for column in catalog.spec(table).column_names:
            assert f"| `{column}` |" in readme
    workbook = openpyxl.load_workbook(io.BytesIO(archive.read("synthese-nationale.xlsx")))
    assert workbook.sheetnames == [*catalog.TABLE_NAMES, "colonnes"]
    assert workbook["participation"]["C2"].value == privacy.MARKER
    ods = _ods_sheets(archive.read("synthese-nationale.ods"))
    assert list(ods) == [*catalog.TABLE_NAMES, "colonnes"]
    inner = json.loads(archive.read("json/participation.json"))
    direct = json.loads(fetch(client, "/syntheses/export/national/participation.json").get_data())
    assert inner == direct


def _texts_of(data: bytes) -> list[str]:
    """Every text inside an export file, unpacking zips (workbooks included)."""
    if data[:2] == b"PK":
        texts = []
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                texts.extend(_texts_of(archive.read(name)))
        return texts
    if data[:4] == b"PAR1":
        table = pq.read_table(io.BytesIO(data))
        return [json.dumps(table.to_pylist(), ensure_ascii=False)]
    return [data.decode("utf-8", errors="replace")]


@pytest.mark.parametrize("detail", [False, True])
def test_no_email_or_phone_in_any_file(client, session, compiled, analyst, detail):
    client.login(analyst.email)
    suffix = "?detail=1" if detail else ""
    texts = _texts_of(fetch(client, f"/syntheses/export/national.zip{suffix}").get_data())
    assert len(texts) > 30
    for text in texts:
        assert not EMAIL_RE.search(text), text[:200]
        assert not PHONE_RE.search(text), text[:200]
        assert analyst.email not in text


def test_zip_is_cached_per_compilation(client, session, compiled, export_dir, monkeypatch):
    first = fetch(client, "/syntheses/export/national.zip").get_data()

    def refuse(*args, **kwargs):
        raise AssertionError("rebuilt")

    monkeypatch.setattr(exports, "write_zip", refuse)
    assert fetch(client, "/syntheses/export/national.zip").get_data() == first
    assert fetch(client, "/syntheses/export/national/participation.csv").status_code == 200
    monkeypatch.undo()
    monkeypatch.setitem(client.application.config, "SYNTHESIS_EXPORT_DIR", str(export_dir))
    newer = compile_fixture(session, scale=3, finished=compiled.finished_at + timedelta(hours=1))
    rows = _csv(fetch(client, "/syntheses/export/national/participation.csv"))
    # (monkeypatch.undo() restored the ptable: the figure is perturbed again.)
    assert abs(int(rows[2][2]) - 150) <= privacy.D
    assert fetch(client, "/syntheses/export/national.zip").get_data() != first
    keys = {p.name for p in export_dir.iterdir()}
    assert exports.compilation_key(newer) in keys


def test_detail_and_public_are_cached_apart(client, session, compiled, analyst, export_dir):
    client.login(analyst.email)
    public = fetch(client, "/syntheses/export/national/participation.csv").get_data()
    detail = fetch(client, "/syntheses/export/national/participation.csv?detail=1").get_data()
    assert public != detail
    assert fetch(client, "/syntheses/export/national/participation.csv").get_data() == public
    key = exports.compilation_key(compiled)
    assert {p.name for p in (export_dir / key).iterdir() if not p.name.startswith(".")} == {
        "national-fr-public",
        "national-fr-detail",
    }


def test_build_zip_for_the_cli(app, session, compiled, tmp_path):
    target = tmp_path / "out.zip"
    with app.test_request_context():
        bundle = exports.build_zip(session, "academie", "13", target)
        assert bundle is not None and bundle.public
        detail = exports.build_zip(session, "academie", "13", tmp_path / "d.zip", public=False)
        assert detail is not None and not detail.public
        assert exports.build_zip(session, "academie", "99", tmp_path / "x.zip") is None
    with zipfile.ZipFile(target) as archive:
        assert "synthese-academie-poitiers.xlsx" in archive.namelist()
        readme = archive.read("README.md").decode()
    assert "Académie de Poitiers" in readme
    with zipfile.ZipFile(tmp_path / "d.zip") as archive:
        assert "réservé aux analystes" in archive.read("README.md").decode()
        rows = list(
            csv.reader(
                io.StringIO(archive.read("csv/participation.csv").decode("utf-8-sig")),
                delimiter=";",
            )
        )
    assert rows[1] == ["eleve", "participants", "3", "3"]


def test_build_zip_without_compilation(app, session, tmp_path):
    with app.app_context():
        assert exports.build_zip(session, "national", "", tmp_path / "n.zip") is None
    assert not (tmp_path / "n.zip").exists()


# --- Territories, page, headers -----------------------------------------------------------------


def test_territories_by_slug_or_code(client, session, compiled):
    by_slug = fetch(client, "/syntheses/export/academie/poitiers/participation.csv")
    by_code = fetch(client, "/syntheses/export/academie/13/participation.csv")
    assert by_slug.status_code == by_code.status_code == 200
    assert by_slug.get_data() == by_code.get_data()
    assert by_slug.headers["Content-Disposition"] == (
        "attachment; filename=synthese-academie-poitiers-participation.csv"
    )
    # « guadeloupe » is both a région académique and its académie: the kind decides.
    region = fetch(client, "/syntheses/export/region/guadeloupe.zip")
    assert region.status_code == 200
    assert "synthese-region-guadeloupe.zip" in region.headers["Content-Disposition"]
    # The académie of Guadeloupe was not compiled in this fixture.
    missing = fetch(client, "/syntheses/export/academie/guadeloupe.zip")
    assert missing.status_code == 404
    assert "ne comprend pas ce territoire" in missing.get_data(as_text=True)


def test_headers_are_safe(client, session, compiled):
    for url in (
        "/syntheses/export/national/participation.csv",
        "/syntheses/export/academie/poitiers.zip",
        "/syntheses/export/region/01/forum_top.xlsx",
    ):
        response = fetch(client, url)
        disposition = response.headers["Content-Disposition"]
        assert SAFE_DISPOSITION.match(disposition), disposition
        assert response.headers["Cache-Control"] == "public, max-age=300"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert exports.safe_filename("Synthèse «x» / ../é\r\n.csv") == "synth-se-x-.-.csv"


def test_downloads_page_lists_tables_formats_and_sizes(client, session, compiled, analyst):
    response = fetch(client, "/syntheses/export/national/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for table in catalog.TABLE_NAMES:
        for fmt in exports.FORMATS:
            assert f"/syntheses/export/national/{table}.{fmt}" in page
    assert "/syntheses/export/national.zip" in page
    assert re.search(r"ZIP – \d+(,\d)?\sKo", page)
    assert "Participation par public" in page
    assert "detail=1" not in page
    assert 'href="/syntheses/"' in page
    poitiers = fetch(client, "/syntheses/export/academie/poitiers/").get_data(as_text=True)
    assert "/syntheses/export/academie/poitiers/participation.parquet" in poitiers
    assert 'href="/syntheses/poitiers/"' in poitiers
    client.login(analyst.email)
    page = fetch(client, "/syntheses/export/national/").get_data(as_text=True)
    assert "/syntheses/export/national/?detail=1" in page
    detail = fetch(client, "/syntheses/export/national/?detail=1").get_data(as_text=True)
    assert "réservées aux analystes" in detail
    assert "/syntheses/export/national/participation.csv?detail=1" in detail


def test_downloads_partial_links(app, session, analyst):
    from flask import render_template_string
    from flask_login import login_user

    from consult.territorial import territory

    include = '{%% with kind="academie", code="%s" %%}{%% include "synthesis/_downloads.html" %%}'
    template = include % "13" + "{% endwith %}"
    with app.test_request_context("/"):
        html = render_template_string(template)
        assert "/syntheses/export/academie/poitiers.zip" in html
        assert "detail=1" not in html
        login_user(analyst)
        assert "/syntheses/export/academie/poitiers/?detail=1" in render_template_string(template)
        unknown = render_template_string(include % "99" + "{% endwith %}")
        assert "Télécharger" not in unknown
        # As synthesis/page.html has it: a ``territory`` in the context.
        html = render_template_string(
            '{% include "synthesis/_downloads.html" %}', territory=territory.NATIONAL
        )
        assert "/syntheses/export/national.zip" in html
        assert "/syntheses/export/national/?detail=1" in html


def test_hostile_requests(client, session, compiled):
    huge = "a" * 5000
    assert fetch(client, f"/syntheses/export/academie/{huge}/participation.csv").status_code == 404
    assert fetch(client, f"/syntheses/export/national/{huge}.csv").status_code == 404
    assert fetch(client, f"/syntheses/export/national.zip?detail={huge}").status_code == 400
    assert fetch(client, "/syntheses/export/national.zip?detail=1&detail=0").status_code == 403
    assert fetch(client, "/syntheses/export/academie/..%2F..%2Fetc/").status_code == 404
    assert fetch(client, "/syntheses/export/national/participation.csv.csv").status_code == 404
    # Read-only: no form posts here.
    assert client.post("/syntheses/export/national.zip").status_code == 405
    assert client.post("/syntheses/export/national/participation.csv").status_code == 405


def test_warm_builds_every_compiled_scope_once(app, session, compiled, export_dir, monkeypatch):
    with app.test_request_context():
        assert exports.warm(session) == 3  # national, académie 13, région 01
        key = exports.compilation_key(compiled)
        assert {p.name for p in (export_dir / key).iterdir() if not p.name.startswith(".")} == {
            "national-fr-public",
            "academie-13-public",
            "region-01-public",
        }

        def refuse(*args, **kwargs):
            raise AssertionError("rebuilt")

        monkeypatch.setattr(exports, "_write_set", refuse)
        assert exports.warm(session) == 3


@pytest.mark.browser
def test_downloads_in_a_browser(page, live_server):
    from consult.db import db
    from synthesis.models import Compilation
    from tests.browser_support import ARTIFACTS, axe_violations

    app = live_server.app
    with app.app_context():
        # Dated far back: another browser test's compilation, if any, stays the latest.
        compilation = compile_fixture(db.session, finished=datetime(2000, 1, 1, 12, 0))
        db.session.commit()
        compilation_id = compilation.id
        db.session.remove()
    try:
        assert axe_violations(page, f"{live_server.url}/syntheses/export/academie/poitiers/") == []
        assert (
            page.get_by_role("heading", level=1).inner_text().startswith("Télécharger les données")
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "synthesis-exports.png"), full_page=True)
        with page.expect_download() as download_info:
            page.get_by_role("link", name=re.compile("Archive complète")).click()
        download = download_info.value
        assert download.suggested_filename == "synthese-academie-poitiers.zip"
        with zipfile.ZipFile(download.path()) as archive:
            assert "README.md" in archive.namelist()
            assert "csv/participation.csv" in archive.namelist()
        with page.expect_download() as download_info:
            page.get_by_role("link", name=re.compile("Parquet — Participation par public")).click()
        table = pq.read_table(download_info.value.path())
        assert "suppressed" in table.column_names
    finally:
        with app.app_context():
            db.session.delete(db.session.get(Compilation, compilation_id))
            db.session.commit()
            db.session.remove()


def test_files_are_french_whoever_builds_them(client, session, compiled):
    # An English-speaking visitor triggers the build: the cached files stay French for all.
    page = fetch(client, "/syntheses/export/academie/poitiers/?lang=en")
    assert page.status_code == 200
    with zipfile.ZipFile(io.BytesIO(fetch(client, "/syntheses/export/academie/13.zip").data)) as z:
        readme = z.read("README.md").decode()
        doc = json.loads(z.read("json/participation.json"))
    assert "# Synthèses de la consultation — Académie de Poitiers" in readme
    assert doc["scope"]["name"] == "Académie de Poitiers"
    assert doc["title"] == "Participation par public"
    assert doc["columns"][0]["label"] == "Public"


def test_csv_guards_free_text_against_formulas(client, session, export_dir):
    compilation = store.start(session)
    top = forum_top()
    top.loc[1, "title"] = '=HYPERLINK("http://exemple.test";"clic")'
    store.save(session, compilation, catalog.Scope("national", ""), {"forum_top": top})
    compilation.status, compilation.finished_at = "done", utcnow()
    session.flush()
    rows = _csv(fetch(client, "/syntheses/export/national/forum_top.csv"))
    assert rows[2][4] == '\'=HYPERLINK("http://exemple.test";"clic")'
    # Dimensions and figures are never touched; JSON keeps the text as written.
    assert rows[2][:4] == ["egalite-acces", "adopted", "2", "12"]
    doc = json.loads(fetch(client, "/syntheses/export/national/forum_top.json").data)
    assert doc["rows"][1]["title"] == '=HYPERLINK("http://exemple.test";"clic")'
    # In the workbook the cell is typed as text, not a formula.
    data = fetch(client, "/syntheses/export/national/forum_top.xlsx").data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and 't="inlineStr"' in sheet


def test_racing_first_downloads_build_once(app, committing, tmp_path, monkeypatch):
    import threading
    import time

    from consult.db import db
    from synthesis.models import Compilation

    monkeypatch.setitem(app.config, "SYNTHESIS_EXPORT_DIR", str(tmp_path / "exports"))
    with app.app_context():
        compilation_id = compile_fixture(db.session).id
        db.session.commit()
        db.session.remove()
    builds: list[int] = []
    original = exports._write_set

    def slow_write(directory, bundle):
        builds.append(1)
        time.sleep(0.3)  # widen the window in which the other requests arrive
        original(directory, bundle)

    monkeypatch.setattr(exports, "_write_set", slow_write)
    racers = 4
    clients = [app.test_client() for _ in range(racers)]
    barrier = threading.Barrier(racers)
    results: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def download(index: int) -> None:
        barrier.wait()
        response = clients[index].get("/syntheses/export/national.zip")
        body = response.get_data()
        response.close()
        with lock:
            results.append((response.status_code, body))

    threads = [threading.Thread(target=download, args=(i,)) for i in range(racers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert [status for status, _body in results] == [200] * racers
        assert len({body for _status, body in results}) == 1
        assert builds == [1]
    finally:
        with app.app_context():
            db.session.delete(db.session.get(Compilation, compilation_id))
            db.session.commit()
            db.session.remove()
