"""The /syntheses/ pages: what the public, participants and analysts see of a stored
compilation (suppressed vs detailed figures), unknown territories, the analyst controls."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from html import unescape

import pandas as pd
import pytest
from sqlalchemy import select

from consult.db import utcnow
from synthesis import catalog, charts, privacy, store, views
from synthesis.models import Compilation, ReferencePopulation
from tests.factories import RoleGrantFactory, UserFactory

ALL = "*"


def _participation(figures: dict[str, int]) -> pd.DataFrame:
    rows = []
    for indicator in catalog.PARTICIPATION_INDICATORS:
        for audience, people in figures.items():
            rows.append([audience, indicator, people, people])
    return pd.DataFrame(rows, columns=["audience", "indicator", "value", "people"])


def national_tables() -> dict[str, pd.DataFrame]:
    """A small hand-made national synthesis: professeurs 30, élèves 25, parents 7 (total 62)."""
    participation = _participation({"professeur": 30, "eleve": 25, "parent": 7, ALL: 62})
    territory = pd.DataFrame(
        [
            ["13", ALL, "participants", 40, 40],
            ["16", ALL, "participants", 15, 15],
            ["28", ALL, "participants", 7, 7],
        ],
        columns=["academie_code", "audience", "indicator", "value", "people"],
    )
    daily = pd.DataFrame(
        [
            ["2026-11-02", ALL, "contributions", 12, 12],
            ["2026-11-03", ALL, "contributions", 20, 20],
        ],
        columns=["day", "audience", "indicator", "value", "people"],
    )
    themes = pd.DataFrame(
        [
            ["ecole", ALL, ALL, "contributions", 40, 40],
            ["ecole", ALL, "professeur", "contributions", 30, 30],
            ["ecole", ALL, "eleve", "contributions", 10, 10],
            ["ecole", ALL, ALL, "votes", 100, 50],
            ["ecole", ALL, ALL, "adopt", 70, 40],
            ["ecole", ALL, ALL, "refuse", 30, 20],
            ["ecole", ALL, ALL, "comments", 20, 15],
            ["ecole", ALL, ALL, "pour", 12, 11],
            ["ecole", ALL, ALL, "contre", 8, 8],
        ],
        columns=["theme_slug", "subtheme_slug", "audience", "indicator", "value", "people"],
    )
    top = pd.DataFrame(
        [["ecole", "adopted", 1, 4242, "Des <b>tablettes</b>", 70, 30, 0.6, 12, 8, 20, 50]],
        columns=catalog.spec("forum_top").column_names,
    )
    consensus = pd.DataFrame(
        [
            [4242, "ecole", "Des <b>tablettes</b>", "consensuelle", 2, 60, 0.6, 0.8, 60],
            [4343, "ecole", "Un portable par élève", "clivante", 2, 40, 0.2, 0.9, 40],
        ],
        columns=catalog.spec("forum_consensus").column_names,
    )
    matrix = pd.DataFrame(
        [
            [4242, "professeur", 24, 6, 0.8, 30],
            [4242, "eleve", 18, 12, 0.6, 30],
            [4343, "professeur", 2, 18, 0.1, 20],
            [4343, "eleve", 18, 2, 0.9, 20],
        ],
        columns=catalog.spec("forum_consensus_matrix").column_names,
    )
    survey = pd.DataFrame(
        [
            ["Q1", "oui", ALL, 40, 62, 40 / 62, 0.7, 51.2, 40],
            ["Q1", "non", ALL, 22, 62, 22 / 62, 0.3, 51.2, 22],
            ["Q1", "oui", "professeur", 20, 30, 20 / 30, None, None, 20],
            ["Q1", "non", "professeur", 10, 30, 10 / 30, None, None, 10],
        ],
        columns=catalog.spec("survey_distribution").column_names,
    )
    questions = pd.DataFrame(
        [["Q1", "Utilisez-vous le numérique ?", "single", "S1"]],
        columns=catalog.spec("survey_questions").column_names,
    )
    topics = pd.DataFrame(
        [
            [
                "contributions",
                1,
                "Tablettes en classe",
                12,
                "tablette, classe, usage",
                "Les tablettes aident en classe",
                "contribution:4242",
                None,
                None,
                None,
                None,
                12,
            ]
        ],
        columns=catalog.spec("topics").column_names,
    )
    retex = pd.DataFrame(
        [["academie", "13", 11, 11], ["academie", "16", 12, 12]],
        columns=catalog.spec("retex").column_names,
    )
    return {
        "participation": participation,
        "participation_territory": territory,
        "participation_daily": daily,
        "forum_themes": themes,
        "forum_top": top,
        "forum_consensus": consensus,
        "forum_consensus_matrix": matrix,
        "survey_distribution": survey,
        "survey_questions": questions,
        "topics": topics,
        "retex": retex,
    }


def poitiers_tables() -> dict[str, pd.DataFrame]:
    return {
        "participation": _participation({"professeur": 25, "eleve": 15, ALL: 40}),
        "survey_distribution": pd.DataFrame(
            [
                ["Q1", "oui", ALL, 30, 40, 0.75, None, None, 30],
                ["Q1", "non", ALL, 10, 40, 0.25, None, None, 10],
            ],
            columns=catalog.spec("survey_distribution").column_names,
        ),
        "survey_questions": national_tables()["survey_questions"],
    }


def publish(session, scopes: dict[tuple[str, str], dict[str, pd.DataFrame]]) -> Compilation:
    compilation = store.start(session, trigger="cli")
    for (kind, code), tables in scopes.items():
        store.save(session, compilation, catalog.resolve_scope(kind, code), tables)
    compilation.status = "done"
    compilation.finished_at = utcnow()
    compilation.duration_ms = 1234
    session.commit()
    return compilation


@pytest.fixture
def compiled(session) -> Compilation:
    return publish(
        session,
        {("national", ""): national_tables(), ("academie", "13"): poitiers_tables()},
    )


def _analyst(session):
    grant = RoleGrantFactory(role="analyst", scope_kind="national", scope_code="")
    session.commit()
    return grant.user


def _html(response) -> str:
    return response.get_data(as_text=True)


def _table_row(html: str, table_id: str, header: str) -> list[str]:
    """The cells of the row whose header is ``header`` in the table ``table_id``."""
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [
            unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        if cells and cells[0] == header:
            return cells[1:]
    raise AssertionError(f"no row {header!r} in {table_id}")


# The national charts; /syntheses/ is the index (summaries and links).
NATIONAL = "/syntheses/france/"


def _charts(html: str) -> list[dict]:
    return [json.loads(unescape(raw)) for raw in re.findall(r'data-chart="([^"]*)"', html)]


# --- Pages --------------------------------------------------------------------------------------


def test_index_summarises_and_links_the_national_charts(client, compiled) -> None:
    """/syntheses/ is the section's entry point: every national chart as its one-sentence
    summary linking to the chart on the national page, and the territories; the charts and
    their data tables (half a megabyte at the Grand Débat scale) are on the national page."""
    index = _html(client.get("/syntheses/"))
    national = _html(client.get(NATIONAL))
    charts = re.findall(r'<h3 class="fr-h4" id="([\w-]+)-title">([^<]+)</h3>', national)
    assert len(charts) >= 6
    for chart_id, title in charts:
        assert f'<a href="{NATIONAL}#{chart_id}-title">{title}</a> — ' in index, chart_id
    summary = re.search(r'id="participation-audience-summary">([^<]+)</p>', national).group(1)
    assert summary in index
    assert "data-chart" not in index and "<table" not in index and "plotly" not in index
    assert "data-chart" in national and "<table" in national and "plotly" in national
    assert 'href="/syntheses/poitiers/"' in index
    assert f'href="{NATIONAL}"' in _html(client.get("/syntheses/poitiers/"))
    # The territories are listed on the index; the national page links back to it.
    assert "Synthèses des territoires" in national and 'id="territories-title"' not in national


def test_no_compilation_yet(client, session) -> None:
    response = client.get("/syntheses/")
    assert response.status_code == 200
    assert "Aucune synthèse compilée pour l’instant" in _html(response)
    assert "Recompiler" not in _html(response)


def test_no_compilation_yet_offers_the_button_to_analysts(client, session) -> None:
    analyst = _analyst(session)
    client.login(analyst.email)
    html = _html(client.get("/syntheses/"))
    assert "Aucune synthèse compilée pour l’instant" in html
    assert "Recompiler" in html


def _near(text: str, truth: int) -> int:
    """A published count: the truth within the ptable's bound, never printed exact by rule."""
    value = round(float(text)) if "." in text else int(re.sub(r"\D", "", text))
    assert abs(value - truth) <= privacy.D, (text, truth)
    return value


def test_public_sees_suppressed_figures(client, compiled) -> None:
    response = client.get(NATIONAL)
    assert response.status_code == 200
    html = _html(response)
    # Parents: 7 people → the neutral marker; the others are perturbed by their cell key (62 −
    # 30 − 25 gives the parents back only within ±9: no complementary cell is needed).
    row = _table_row(html, "participation-audience-table", "Parents")
    assert row[0] == privacy.MARKER
    _near(_table_row(html, "participation-audience-table", "Élèves")[0], 25)
    _near(_table_row(html, "participation-audience-table", "Professeurs")[0], 30)
    _near(_table_row(html, "participation-audience-table", "Ensemble")[0], 62)
    # La Réunion: 7 participants; overseas, it is in the table, not on the map.
    assert _table_row(html, "participation-map-table", "La Réunion (outre-mer, hors carte)")[0] == (
        privacy.MARKER
    )
    assert "&lt; 10" not in html


def test_analyst_sees_detailed_figures(client, session, compiled) -> None:
    analyst = _analyst(session)
    client.login(analyst.email)
    html = _html(client.get(NATIONAL))
    assert _table_row(html, "participation-audience-table", "Parents")[0] == "7"
    assert _table_row(html, "participation-audience-table", "Élèves")[0] == "25"
    assert "agrégats détaillés" in html


def test_participant_sees_public_figures(client, session, compiled) -> None:
    participant = UserFactory()
    session.commit()
    client.login(participant.email)
    html = _html(client.get(NATIONAL))
    assert _table_row(html, "participation-audience-table", "Parents")[0] == privacy.MARKER
    assert "Recompiler" not in html
    assert "Population de référence" not in html


def test_public_chart_json_holds_only_suppressed_data(client, compiled) -> None:
    html = _html(client.get(NATIONAL))
    figures = _charts(html)
    bars = next(f for f in figures if f["data"][0].get("name") == "Participants")
    # The chart holds the table's published figures: parents (7) are left out.
    assert bars["data"][0]["x"] == ["Élèves", "Professeurs"]
    assert [_near(str(y), t) for y, t in zip(bars["data"][0]["y"], [25, 30], strict=True)]
    table = [_table_row(html, "participation-audience-table", a)[0] for a in bars["data"][0]["x"]]
    assert [int(v) for v in table] == bars["data"][0]["y"]
    choropleth = next(f for f in figures if f["data"][0]["type"] == "choroplethmap")
    base, trace = choropleth["data"]
    assert len(base["locations"]) == 25  # every metropolitan académie, all grey
    assert set(base["z"]) == {0}
    # La Réunion (7) is hidden; Toulouse (15) and Poitiers (40) are perturbed.
    assert sorted(trace["locations"]) == ["13", "16"]
    z = dict(zip(trace["locations"], trace["z"], strict=True))
    _near(str(z["13"]), 40)
    assert _near(_table_row(html, "participation-map-table", "Toulouse")[0], 15) == z["16"]
    assert choropleth["layout"]["map"]["style"] == "white-bg"
    assert choropleth["geojson"] == "/syntheses/carte/academies.geojson"


def test_analyst_chart_json_has_the_small_cells(client, session, compiled) -> None:
    analyst = _analyst(session)
    client.login(analyst.email)
    figures = _charts(_html(client.get(NATIONAL)))
    bars = next(f for f in figures if f["data"][0].get("name") == "Participants")
    assert bars["data"][0]["y"] == [25, 7, 30]


def test_text_summaries_are_computed_from_the_figures(client, compiled) -> None:
    html = _html(client.get(NATIONAL))
    # The sentences are written from the published figures, not the true ones.
    found = re.search(
        r"(\d+) personnes ont participé ; le public le plus représenté est celui des "
        r"professeurs \((\d+)\)\.",
        html,
    )
    assert found
    assert _near(found.group(1), 62) == int(
        _table_row(html, "participation-audience-table", "Ensemble")[0]
    )
    assert _near(found.group(2), 30) == int(
        _table_row(html, "participation-audience-table", "Professeurs")[0]
    )
    found = re.search(
        r"C’est l’académie de Poitiers qui compte le plus de participants \((\d+)\)", html
    )
    assert found and _near(found.group(1), 40)
    assert "Réponse la plus fréquente : « oui »" in html
    # One theme: it is not named as both the most and the least adopted.
    assert "Le thème « ecole » recueille 70,0 % d’adoptions." in html
    assert "le moins adopté" not in html
    # The map's note names the overseas académies of its table, and each is in the table (the
    # table lists every académie, those without a shown figure marked as secret).
    note = re.search(r"Académies d’outre-mer, absentes de la carte : ([^.]+)\.", html)
    assert note and "La Réunion" in note.group(1)
    for name in note.group(1).split(", "):
        assert _table_row(html, "participation-map-table", f"{name} (outre-mer, hors carte)"), name
    assert "figurent dans le tableau" not in html
    # No « 0 académies… »: the sentence is left out when none is small.
    assert " 0 académie" not in html
    # Every chart has a summary paragraph and a table with a caption.
    assert html.count('class="synthesis-summary"') == html.count("<caption ") == 12


def test_consensus_section_and_links(client, compiled) -> None:
    html = _html(client.get(NATIONAL))
    assert 'id="consensus-consensuelle-table"' in html
    assert 'id="consensus-clivante-table"' in html
    assert 'href="/forums/contributions/4242"' in html
    # The title is escaped text, never markup.
    assert "Des &lt;b&gt;tablettes&lt;/b&gt;" in html
    assert "<b>tablettes" not in html
    matrix = _table_row(html, "consensus-matrix-table", "Un portable par élève")
    assert matrix[0] == "clivante"
    heatmap = next(f for f in _charts(html) if f["data"][0]["type"] == "heatmap")
    # Shares computed from the published (perturbed) adopt and refuse counts.
    for row, truth in zip(heatmap["data"][0]["z"], [[60.0, 80.0], [90.0, 10.0]], strict=True):
        assert [abs(a - b) <= 12 for a, b in zip(row, truth, strict=True)] == [True, True]
    # plotly.js reads some HTML in labels: people's words reach it as entities.
    assert heatmap["data"][0]["y"][0] == "Des &lt;b&gt;tablettes&lt;/b&gt;"


def test_weighted_share_and_effective_n_beside_unweighted(client, compiled) -> None:
    html = _html(client.get(NATIONAL))
    row = _table_row(html, "question-Q1-table", "oui")
    # Professeurs, Ensemble (unweighted), weighted share, effective n.
    assert row[-2] == "70,0 %"
    assert row[-1] == "51,2"
    # The unweighted share is the published count over the published base.
    share, _count = re.fullmatch(r"([\d,]+) %\s*\((\d+)\)", row[-3]).groups()
    assert abs(float(share.replace(",", ".")) - 64.5) < 8


def test_topics_quotes_link_to_their_source(client, compiled) -> None:
    html = _html(client.get(NATIONAL))
    # The topic's title, then its keywords beside it.
    assert "<strong>Tablettes en classe</strong>" in html
    assert "Mots-clés : tablette, classe, usage" in html
    assert "Les tablettes aident en classe" in html
    assert 'href="/forums/contributions/4242"' in html


def test_territory_page_with_national_comparison(client, compiled) -> None:
    response = client.get("/syntheses/poitiers/")
    assert response.status_code == 200
    html = _html(response)
    assert "Académie de Poitiers" in html
    # Participants of Poitiers, then the national figure beside them.
    here = _table_row(html, "participation-audience-table", "Ensemble")
    _near(here[0], 40)
    # The national figure beside it is the national page's, to the unit.
    national = _html(client.get(NATIONAL))
    assert here[-1] == _table_row(national, "participation-audience-table", "Ensemble")[0]
    row = _table_row(html, "question-Q1-table", "oui")
    assert row[-1] == _table_row(national, "question-Q1-table", "oui")[-3].split(" (")[0]
    assert abs(float(row[0].split(" %")[0].replace(",", ".")) - 75.0) < 10


def test_region_page_without_its_scope_says_so(client, compiled) -> None:
    response = client.get("/syntheses/region/nouvelle-aquitaine/")
    assert response.status_code == 200
    assert "Aucune synthèse compilée pour l’instant" in _html(response)


@pytest.mark.parametrize(
    "url", ["/syntheses/atlantide/", "/syntheses/region/atlantide/", "/syntheses/region/poitiers/"]
)
def test_unknown_territory_is_a_french_404(client, compiled, url) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert "n’existe pas" in _html(response)


def test_pages_relax_style_src_only_there(client, compiled) -> None:
    page_csp = client.get(NATIONAL).headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in page_csp
    assert page_csp.endswith("; worker-src blob:")
    assert "script-src 'self';" in page_csp
    home_csp = client.get("/").headers["Content-Security-Policy"]
    assert "unsafe-inline" not in home_csp


def test_no_email_anywhere(client, session, compiled) -> None:
    analyst = _analyst(session)
    for html in (_html(client.get("/syntheses/")), _html(client.get("/syntheses/poitiers/"))):
        assert "@" not in re.sub(r"<script.*?</script>", "", html, flags=re.S).replace("@media", "")
    client.login(analyst.email)
    html = _html(client.get("/syntheses/"))
    assert analyst.email not in html


def test_pages_are_cached_per_compilation(client, session, compiled) -> None:
    pattern = r"Poitiers qui compte le plus de participants \((\d+)\)"
    first = _html(client.get("/syntheses/"))
    _near(re.search(pattern, first).group(1), 40)
    tables = national_tables()
    territory = tables["participation_territory"]
    territory.loc[territory["academie_code"] == "13", ["value", "people"]] = 60
    later = publish(session, {("national", ""): tables})
    later.finished_at = utcnow() + timedelta(seconds=1)
    session.commit()
    _near(re.search(pattern, _html(client.get("/syntheses/"))).group(1), 60)


def test_territory_panel_links_to_the_synthesis(client, compiled) -> None:
    html = _html(client.get("/territoires/poitiers/"))
    assert 'href="/syntheses/poitiers/"' in html
    html = _html(client.get("/territoires/region/nouvelle-aquitaine/"))
    assert 'href="/syntheses/region/nouvelle-aquitaine/"' in html


def test_geojson_is_served(client) -> None:
    response = client.get("/syntheses/carte/academies.geojson")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    assert len(response.get_json()["features"]) == 25


# --- Recompile ----------------------------------------------------------------------------------


def test_recompile_needs_the_permission(client, session) -> None:
    participant = UserFactory()
    session.commit()
    token = client.csrf_token("/syntheses/")
    assert client.post("/syntheses/recompiler", data={"csrf_token": token}).status_code in (
        302,
        401,
        403,
    )
    client.login(participant.email)
    token = client.csrf_token("/syntheses/")
    assert client.post("/syntheses/recompiler", data={"csrf_token": token}).status_code == 403
    assert session.query(Compilation).count() == 0


def test_recompile_without_csrf_is_refused(client, session) -> None:
    client.login(_analyst(session).email)
    response = client.post("/syntheses/recompiler", data={})
    assert response.status_code == 400
    assert session.query(Compilation).count() == 0


def _hold_queue(app, monkeypatch) -> list:
    """Keep the queue from running what is sent to it (as when no worker is up)."""
    from consult import jobs

    sent: list = []
    monkeypatch.setattr(jobs.queue(app).huey, "enqueue", sent.append)
    return sent


def _marker_of(session, message) -> Compilation:
    from consult.jobs import JobRecord

    record = session.get(JobRecord, message.args[0])
    return session.get(Compilation, int(record.ref.rpartition(":")[2]))


def test_recompile_starts_in_the_background_and_409_while_running(
    app, client, session, monkeypatch
) -> None:
    started = _hold_queue(app, monkeypatch)
    client.login(_analyst(session).email)
    response = client.submit("/syntheses/recompiler", page="/syntheses/")
    assert response.status_code == 302
    assert len(started) == 1
    marker = _marker_of(session, started[0])
    assert marker.status == "queued" and marker.trigger == "web"
    html = _html(client.get("/syntheses/"))
    assert "Une compilation est en cours" in html
    token = client.csrf_token("/syntheses/")
    again = client.post("/syntheses/recompiler", data={"csrf_token": token})
    assert again.status_code == 409
    assert "déjà en cours" in _html(again)
    assert len(started) == 1
    # Age alone changes nothing: only the job lease decides that a worker is gone.
    marker.started_at = utcnow() - timedelta(minutes=31)
    session.commit()
    assert client.post("/syntheses/recompiler", data={"csrf_token": token}).status_code == 409
    # Its job recorded as lost (what jobs.expire_lost does once the lease runs out), the
    # marker no longer blocks.
    from consult.jobs import JobRecord

    record = session.get(JobRecord, started[0].args[0])
    record.status, record.error = "failed", "Tâche interrompue"
    session.commit()
    assert client.post("/syntheses/recompiler", data={"csrf_token": token}).status_code == 302
    assert len(started) == 2
    session.refresh(marker)
    assert marker.status == "failed" and marker.finished_at is not None


def test_the_database_refuses_a_second_queued_compilation(session) -> None:
    """The check-then-insert in the view can race; the partial unique index cannot."""
    from sqlalchemy.exc import IntegrityError

    session.add(Compilation(status="queued", trigger="web"))
    session.flush()
    session.add(Compilation(status="done", trigger="cli"))
    session.add(Compilation(status="running", trigger="cli"))
    session.flush()  # other states are not limited
    nested = session.begin_nested()
    session.add(Compilation(status="queued", trigger="web"))
    with pytest.raises(IntegrityError):
        session.flush()
    nested.rollback()


def test_a_lost_race_for_the_queue_is_a_409_not_a_500(app, client, session, monkeypatch) -> None:
    started = _hold_queue(app, monkeypatch)
    # The other request's marker lands after this one's check: simulate by hiding it from it.
    monkeypatch.setattr(views, "_running", lambda _session: None)
    session.add(Compilation(status="queued", trigger="web"))
    session.flush()
    client.login(_analyst(session).email)
    response = client.submit("/syntheses/recompiler", page="/syntheses/")
    assert response.status_code == 409
    assert "déjà en cours" in _html(response)
    assert started == []


def _queue_compilation(app, session) -> int:
    """What « Recompiler » does: a queued marker and its job, sent to the queue on commit (the
    suite's queue runs it at once)."""
    from synthesis import tasks

    marker = store.start(session, trigger="web")
    marker.status = "queued"
    session.flush()
    with app.test_request_context("/syntheses/recompiler"):
        tasks.submit_compilation(session, marker)
        session.commit()
    return marker.id


def test_background_compilation_replaces_the_marker(app, session, monkeypatch) -> None:
    """The job, run by the queue: the engine's compilation is stored, the marker goes."""
    from consult.jobs import JobRecord
    from synthesis import engine

    calls = []

    def fake_compile_all(db_session, **kwargs):
        calls.append(kwargs)
        return publish(db_session, {("national", ""): national_tables()})

    monkeypatch.setattr(engine, "compile_all", fake_compile_all)
    marker_id = _queue_compilation(app, session)
    session.expire_all()
    assert len(calls) == 1
    assert calls[0]["trigger"] == "web" and calls[0]["user_id"] is None
    assert callable(calls[0]["progress"])
    assert session.get(Compilation, marker_id) is None
    assert store.latest(session) is not None
    record = session.scalars(select(JobRecord)).one()
    assert record.status == "done" and record.ref == f"synthesis_compilation:{marker_id}"


def test_failed_background_compilation_is_recorded(app, session, monkeypatch) -> None:
    from consult.jobs import JobRecord
    from synthesis import engine

    def broken(db_session, **kwargs):
        raise RuntimeError("disque plein")

    monkeypatch.setattr(engine, "compile_all", broken)
    marker_id = _queue_compilation(app, session)
    session.expire_all()
    failed = session.get(Compilation, marker_id)
    assert failed.status == "failed"
    assert failed.error == "disque plein"
    record = session.scalars(select(JobRecord)).one()
    assert record.status == "failed" and record.error == "disque plein"


# --- Reference population ----------------------------------------------------------------------

GOOD_CSV = "audience,academie_code,population\nprofesseur,13,30000\neleve,13,400000\n"


def _upload(client, content: bytes | str, label="Effectifs 2020", source="DEPP, RERS 2020"):
    data = content.encode() if isinstance(content, str) else content
    return client.submit(
        "/syntheses/reference",
        {"file": (io.BytesIO(data), "reference.csv"), "label": label, "source": source},
        page="/syntheses/",
        content_type="multipart/form-data",
    )


def test_reference_upload(client, session) -> None:
    client.login(_analyst(session).email)
    response = _upload(client, GOOD_CSV)
    assert response.status_code == 302, _html(response)[:2000]
    reference = session.query(ReferencePopulation).filter_by(active=True).one()
    assert reference.label == "Effectifs 2020"
    assert sorted(map(tuple, reference.rows)) == [
        ("eleve", "13", 400000),
        ("professeur", "13", 30000),
    ]
    html = _html(client.get("/syntheses/"))
    assert "Population active : Effectifs 2020 (2 lignes)" in html


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("audience,academie_code,population\nprofesseur,99,100\n", "Ligne 2"),
        ("audience,academie_code,population\nprofesseur,13,-5\n", "Ligne 2"),
        ("audience,academie_code,population\nprofesseur,13,\n", "Ligne 2"),
        ("audience,academie_code,population\nmartien,13,100\n", "Ligne 2"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "CSV"),
        ("", "vide"),
    ],
)
def test_reference_upload_hostile_files(client, session, content, message) -> None:
    client.login(_analyst(session).email)
    response = _upload(client, content)
    assert response.status_code in (400, 422)
    assert message in _html(response)
    assert session.query(ReferencePopulation).count() == 0


def test_reference_upload_huge_file(client, session) -> None:
    client.login(_analyst(session).email)
    # Above the 256 KB cap, below the 500 KB at which the test client spools to a file.
    huge = GOOD_CSV + "professeur,13,1\n" * 20_000
    response = _upload(client, huge)
    assert response.status_code == 422
    assert "Le fichier dépasse" in _html(response)
    assert session.query(ReferencePopulation).count() == 0


def test_reference_upload_needs_label_source_and_csrf(client, session) -> None:
    client.login(_analyst(session).email)
    response = _upload(client, GOOD_CSV, label="", source="<script>x</script>")
    assert response.status_code == 422
    # The index is redrawn with the errors: no chart there, so the strict style-src.
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "Donnez un intitulé" in _html(response)
    assert "<script>x</script>" not in _html(response)
    response = client.post(
        "/syntheses/reference",
        data={"file": (io.BytesIO(GOOD_CSV.encode()), "r.csv"), "label": "x", "source": "y"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert session.query(ReferencePopulation).count() == 0


def test_reference_upload_needs_the_permission(client, session) -> None:
    participant = UserFactory()
    session.commit()
    client.login(participant.email)
    response = _upload(client, GOOD_CSV)
    assert response.status_code == 403
    assert session.query(ReferencePopulation).count() == 0


def test_synthesis_writes_are_rate_limited(app, client, session, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "RATELIMIT_SYNTHESIS_WRITE", "2 per minute")
    client.login(_analyst(session).email)
    token = client.csrf_token("/syntheses/")
    statuses = [
        client.post(
            "/syntheses/reference",
            data={"csrf_token": token, "label": "", "source": ""},
            content_type="multipart/form-data",
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [422, 422, 429]


# --- Chart helpers ------------------------------------------------------------------------------


def test_formatting_of_suppressed_and_missing(app) -> None:
    with app.test_request_context("/"):
        assert charts.count(7, True) == privacy.MARKER == "secret statistique"
        assert charts.count(None) == "–"
        assert charts.count(1234) == "1\u202f234"
        assert re.fullmatch(r"50,0\s%", charts.share(0.5))


def test_quote_sources(app, session) -> None:
    with app.test_request_context("/"):
        assert charts._quote_href("contribution:12") == "/forums/contributions/12"
        assert charts._quote_href("idea:5") == "/territoires/idees/5"
        assert charts._quote_href("comment:999999") is None  # gone: no link
        assert charts._quote_href("answer:3") is None
        assert charts._quote_href("contribution:<b>") is None


def test_masking_notice_is_escaped_text(client, compiled) -> None:
    html = _html(client.get("/syntheses/"))
    assert "sont masqués (« secret statistique ») : un total peut" in html
    assert "&lt; 10" not in html


def test_warm_cache_builds_every_compiled_scope(app, session, compiled, monkeypatch) -> None:
    built: list[tuple[str, str, bool]] = []
    real = views._sections

    def spy(compilation, kind, code, detailed):
        result = real(compilation, kind, code, detailed)
        if result is not None:
            built.append((kind, code, detailed))
        return result

    monkeypatch.setattr(views, "_sections", spy)
    assert views.warm_cache(app) == 2
    assert built == [("national", "", False), ("academie", "13", False)]


def test_warm_cache_works_behind_trusted_hosts(app, session, compiled, monkeypatch) -> None:
    """Production sets TRUSTED_HOSTS to the site's host: the compilation job's warm-up must
    still build its pages (their links included), not fail on a refused « localhost »."""
    monkeypatch.setitem(app.config, "SITE_URL", "https://consult.example.fr")
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["consult.example.fr"])
    assert views.warm_cache(app) == 2


def test_pages_link_their_downloads(client, compiled) -> None:
    html = _html(client.get("/syntheses/poitiers/"))
    assert "Télécharger les données" in html
    assert "Données détaillées (analystes)" not in html


# --- With the real engine -----------------------------------------------------------------------


def test_pages_from_a_real_compilation(client, session) -> None:
    """The hand-made dataset compiled by the engine: the pages show its consensus and the same
    figures as the store, suppressed for the public and not for analysts."""
    from tests.synthesis_factories import build_dataset, compile_dataset

    data = build_dataset(session)
    compile_dataset(session)
    session.commit()
    consensual = data.contributions["consensual"]
    divisive = data.contributions["divisive"]
    raw = store.load(session, "national", "", public=False)
    public = store.load(session, "national", "", public=True)

    def participants(tables) -> str:
        df = tables["participation"]
        row = df[(df["audience"] == ALL) & (df["indicator"] == "participants")].iloc[0]
        return "< 10" if row.get("suppressed", False) else str(int(row["value"]))

    html = _html(client.get(NATIONAL))
    assert _table_row(html, "participation-audience-table", "Ensemble")[0] == participants(public)
    consensuelles = html.split('id="consensus-consensuelle-table"', 1)[1].split("</table>")[0]
    assert f'href="/forums/contributions/{consensual.id}"' in consensuelles
    assert "Former &lt;b&gt;tous&lt;/b&gt; les enseignants" in consensuelles
    clivantes = html.split('id="consensus-clivante-table"', 1)[1].split("</table>")[0]
    assert f'href="/forums/contributions/{divisive.id}"' in clivantes
    assert "@" not in re.sub(r"<script.*?</script>", "", html, flags=re.S)

    client.login(data.analyst.email)
    html = _html(client.get(NATIONAL))
    assert _table_row(html, "participation-audience-table", "Ensemble")[0] == participants(raw)
    for url in ("/syntheses/toulouse/", "/syntheses/region/occitanie/", "/syntheses/poitiers/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'id="participation-audience-table"' in _html(response)


def test_weighting_note(app) -> None:
    meta = {
        "weighting": {
            "method": "raking",
            "empty_cells": [["eleve", "43"]],
            "iterations": 12,
            "converged": True,
            "effective_n": 51.234,
            "respondents": 62,
        }
    }
    with app.test_request_context("/"):
        note = charts.weighting_note(meta, detailed=False)
        found = re.fullmatch(
            "Parts pondérées par calage sur marges sur la population de référence : taille "
            "effective d’échantillon 51,2 pour (\\d+) répondants. 1 cellule public × académie "
            "n’a aucun répondant.",
            note,
        )
        assert found and _near(found.group(1), 62)  # a protected count: perturbed
        assert "pour 62 répondants" in charts.weighting_note(meta, detailed=True)
        meta["weighting"]["respondents"] = 7
        assert "moins de 10 répondants" in charts.weighting_note(meta, detailed=False)
        assert "pour 7 répondants" in charts.weighting_note(meta, detailed=True)
        assert charts.weighting_note({}, detailed=False) is None


def test_uploaded_reference_weights_the_next_compilation(client, session) -> None:
    """Upload through the page, compile, read the weighted share beside the unweighted one
    (figures of tests/test_synthesis_weighting.py: 20/23 unweighted, 0.9375 weighted)."""
    from synthesis import engine
    from tests.synthesis_factories import MONTPELLIER, TOULOUSE, build_dataset

    data = build_dataset(session)
    session.commit()
    client.login(data.analyst.email)
    csv = (
        f"audience;academie_code;population\nprofesseur;{TOULOUSE};100\n"
        f"professeur;{MONTPELLIER};300\n"
    )
    assert _upload(client, csv).status_code == 302
    engine.compile_all(session, scopes=[catalog.resolve_scope("national")], topics=False)
    session.commit()
    html = _html(client.get(NATIONAL))
    table = html.split('id="question-C01-table"', 1)[1].split("</table>", 1)[0]
    assert "Part pondérée" in table and "Taille effective d’échantillon" in table
    assert "93,8" in table  # weighted
    assert "87,0" in table  # unweighted 20/23, still shown
    assert "Parts pondérées par post-stratification" in html
    assert "pour 23 répondants" in html


def test_long_tables_fold_away(client, session) -> None:
    tables = national_tables()
    days = pd.date_range("2026-09-01", periods=50, freq="D").strftime("%Y-%m-%d")
    tables["participation_daily"] = pd.DataFrame(
        [[day, ALL, "contributions", 12, 12] for day in days],
        columns=["day", "audience", "indicator", "value", "people"],
    )
    publish(session, {("national", ""): tables})
    html = _html(client.get(NATIONAL))
    assert "Afficher le tableau (50 lignes)" in html
    folded = html.split("<details", 1)[1].split("</details>", 1)[0]
    assert 'id="participation-daily-table"' in folded
    assert 'id="participation-audience-table"' not in folded


def test_compilation_status_for_analysts(client, session, compiled) -> None:
    client.login(_analyst(session).email)
    html = _html(client.get("/syntheses/"))
    assert "Dernière compilation : terminée" in html
    assert "durée : 1,2 s" in html  # 1234 ms, French decimals


def test_generated_sentences_fit_the_figures(app) -> None:
    """No « 0 académies comptent… », and one theme (or tied themes) is never named as both the
    most and the least adopted."""
    from synthesis import charts

    territory = pd.DataFrame(
        [["13", ALL, "participants", 40, 40], ["16", ALL, "participants", 15, 15]],
        columns=["academie_code", "audience", "indicator", "value", "people"],
    )
    tied = pd.DataFrame(
        [
            [slug, ALL, ALL, indicator, value, 40]
            for slug in ("ecole", "travail")
            for indicator, value in (("adopt", 30), ("refuse", 10))
        ],
        columns=["theme_slug", "subtheme_slug", "audience", "indicator", "value", "people"],
    )
    with app.test_request_context("/"):
        tables = {"participation_territory": territory.assign(suppressed=False)}
        summary = charts.academie_map(tables, "/carte.geojson")["summary"]
        assert summary == "C’est l’académie de Poitiers qui compte le plus de participants (40)."
        tables = {"forum_themes": tied.assign(suppressed=False)}
        summary = charts.forum_balance(tables, {}, "votes")["summary"]
        assert summary == "Les thèmes recueillent tous la même part d’adoptions (75,0 %)."
        tables = {"forum_themes": tied.iloc[:2].assign(suppressed=False)}
        summary = charts.forum_balance(tables, {"ecole": "École"}, "votes")["summary"]
        assert summary == "Le thème « École » recueille 75,0 % d’adoptions."
