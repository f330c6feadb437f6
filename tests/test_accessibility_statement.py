"""The accessibility statement says what the RGAA audit grid says: the rate recomputed here from
the CSV alone, the status, the non-conformities and the date; the footer and the site map."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

from consult import accessibility

ROOT = Path(__file__).resolve().parent.parent
GRID = ROOT / "docs/rgaa/grille-rgaa-4.1.csv"
HEADER = "critere,thematique,intitule,P01,P02,justification,contournement\n"


def _rate_from_the_csv() -> tuple[float, list[str]]:
    """The RGAA rate computed independently of consult.accessibility."""
    with GRID.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    pages = [c for c in rows[0] if re.fullmatch(r"P\d\d", c)]
    conformant, failing = 0, []
    for row in rows:
        values = {row[p] for p in pages}
        if "NC" in values:
            failing.append(row["critere"])
        elif "C" in values:
            conformant += 1
    return round(100 * conformant / (conformant + len(failing)), 1), failing


def test_the_grid_covers_the_rgaa() -> None:
    audit = accessibility.read()
    assert len(audit.criteria) == 106
    assert len({c.number.split(".")[0] for c in audit.criteria}) == 13
    assert len(audit.pages) == 13
    assert all(c.justification for c in audit.criteria)
    assert all(c.workaround for c in audit.non_conformities)
    assert audit.conformant + audit.non_conformant + audit.not_applicable == 106


def test_the_statement_shows_the_rate_computed_from_the_grid(client) -> None:
    rate, failing = _rate_from_the_csv()
    html = client.get("/accessibilite").get_data(as_text=True)
    shown = re.search(r'id="taux-conformite">([\d,]+) %<', html).group(1)
    assert float(shown.replace(",", ".")) == rate
    status = re.search(r'id="statut-conformite">([^<]+)<', html).group(1)
    expected = (
        "totalement conforme"
        if not failing
        else ("partiellement conforme" if rate >= 50 else "non conforme")
    )
    assert status == expected
    listed = re.findall(r"Critère (\d+\.\d+) \(", html)
    assert listed == failing
    audit = accessibility.current()
    assert f"réalisé le {audit.audited_on.day}" in html
    for sample_page in audit.pages:
        assert sample_page.title.replace("'", "&#39;") in html
    # The footer of every page says the same status.
    assert f"Accessibilité : {expected}" in client.get("/").get_data(as_text=True)


def test_the_english_statement_shows_the_same_rate(client) -> None:
    rate, failing = _rate_from_the_csv()
    html = client.get("/accessibilite?lang=en").get_data(as_text=True)
    assert f'id="taux-conformite">{rate}%<' in html
    expected = "fully" if not failing else ("partially" if rate >= 50 else "not")
    assert f'id="statut-conformite">{expected} compliant<' in html


def test_the_script_prints_the_same_rate() -> None:
    rate, _ = _rate_from_the_csv()
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(ROOT / "scripts/rgaa_rate.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert f"= {str(rate).replace('.', ',')} %" in done.stdout


def _grid(tmp_path: Path, rows: list[str], count: int | None = None) -> Path:
    # The first line dates the audit; ``count`` pads with conformant criteria to 106.
    lines = ["# audit du 2026-12-01\n", HEADER, *rows]
    themes = iter(range(1, 14))
    padding = (count or 106) - len(rows)
    for i in range(padding):
        theme = next(themes) if i < 13 else 13
        lines.append(f"{theme}.{100 + i},T,t,C,NA,ok,\n")
    path = tmp_path / "grid.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "sample.csv"
    path.write_text("code,page,url\nP01,Accueil,/\nP02,Forum,/forums/\n", encoding="utf-8")
    return path


def test_a_criterion_is_nc_if_one_page_fails_and_na_only_if_na_everywhere(tmp_path, sample):
    rows = ["1.1,T,t,C,NC,pourquoi,contournement\n", "1.2,T,t,NA,NA,pourquoi,\n"]
    audit = accessibility.read(_grid(tmp_path, rows), sample)
    by_number = {c.number: c for c in audit.criteria}
    assert by_number["1.1"].result == "NC" and by_number["1.1"].failing_pages == ["P02"]
    assert by_number["1.2"].result == "NA"
    assert (audit.conformant, audit.non_conformant, audit.not_applicable) == (104, 1, 1)
    assert audit.rate == round(100 * 104 / 105, 1)
    assert audit.status == "partiellement"
    assert audit.audited_on.isoformat() == "2026-12-01"


@pytest.mark.parametrize(
    ("rows", "count", "message"),
    [
        (["1.1,T,t,C,X,pourquoi,\n"], None, "bad results"),
        (["1.1,T,t,C,NC,pourquoi,\n"], None, "workaround"),
        (["1.1,T,t,C,C,,\n"], None, "justification"),
        ([], 105, "106"),
    ],
)
def test_a_malformed_grid_is_refused(tmp_path, sample, rows, count, message):
    with pytest.raises(accessibility.GridError, match=message):
        accessibility.read(_grid(tmp_path, rows, count), sample)


def test_the_site_map_lists_every_section(client, user) -> None:
    html = client.get("/plan-du-site").get_data(as_text=True)
    for url in ("/forums/", "/forums/recherche", "/questionnaire/", "/territoires/", "/retex/"):
        assert f'href="{url}"' in html
    assert 'href="/compte/connexion"' in html and 'href="/accessibilite"' in html
    # Reached the same way from every page: the footer.
    assert 'href="/plan-du-site"' in client.get("/forums/").get_data(as_text=True)
    client.login(user.email)
    html = client.get("/plan-du-site").get_data(as_text=True)
    assert 'href="/compte/profil"' in html and 'href="/compte/connexion"' not in html
