"""Every page of the site is valid HTML for the Nu HTML Checker (vnu), the W3C validator.

The crawler's seed and URL list (``tests/test_surface_crawler.py``) give every GET route of the
url map filled with real ids; each is rendered as an anonymous visitor, a participant and the
staff roles, plus a few forms sent back with errors. The HTML pages are written to a temporary
folder and checked by **one** run of vnu (one JVM: it takes seconds to start).

vnu comes from the ``vnu-jar`` npm package (``make`` installs it into ``node_modules``);
``VNU_JAR`` points elsewhere. Java 17 runs it offline."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.forums_factories import theme
from tests.synthesis_factories import build_dataset, compile_dataset
from tests.test_surface_crawler import _seed, _urls

ROOT = Path(__file__).resolve().parent.parent
VNU_JAR = Path(os.environ.get("VNU_JAR", ROOT / "node_modules/vnu-jar/build/dist/vnu.jar"))
# Roles whose pages differ: the visitor, a participant, the author of non-public content and
# every staff role of the crawler's seed.
ROLES = ("anonymous", "participant", "author", "moderator", "coordinator_elsewhere", "analyst")
# Forms sent back empty: the page shown with its error messages must be valid too.
FORMS_WITH_ERRORS = {
    "anonymous": ("/compte/inscription", "/compte/connexion", "/questionnaire/code"),
    "participant": ("/forums/{theme}/contribuer", "/territoires/idees/nouvelle", "/compte/profil"),
}


def run_vnu(folder: Path) -> list[dict]:
    """vnu's messages of type error for every .html file of ``folder`` (one JVM)."""
    java = shutil.which("java")
    if java is None or not VNU_JAR.exists():
        pytest.fail(f"vnu needs java and {VNU_JAR} (make installs node_modules; or set VNU_JAR)")
    done = subprocess.run(  # noqa: S603 - fixed command line, our own files
        [java, "-jar", str(VNU_JAR), "--format", "json", "--skip-non-html", str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    messages = json.loads(done.stderr or '{"messages": []}')["messages"]
    return [m for m in messages if m.get("type") == "error"]


def _visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def _save(folder: Path, pages: dict[str, str], url: str, html: str) -> None:
    digest = hashlib.sha1(html.encode()).hexdigest()[:12]  # noqa: S324 - a file name
    if digest not in pages:
        pages[digest] = url
        (folder / f"{digest}.html").write_text(html, encoding="utf-8")


def test_every_page_is_valid_html(app, client, session, tmp_path) -> None:
    # Syntheses compiled from real answers, votes and comments: their charts, tables and
    # hidden cells (« secret statistique ») are on the pages.
    build_dataset(session)
    compile_dataset(session)
    seed = _seed(session)
    urls, uncovered = _urls(app, seed)
    assert not uncovered, "route not covered: " + "; ".join(uncovered)
    pages: dict[str, str] = {}
    for role in ROLES:
        user = seed.users[role]
        if user is not None:
            client.login(user.email)
        for url in dict.fromkeys(urls):
            with client.get(url) as response:  # closes the exports' file streams
                if response.mimetype == "text/html":
                    _save(tmp_path, pages, f"{role} {url}", response.get_data(as_text=True))
        for url in FORMS_WITH_ERRORS.get(role, ()):
            url = url.format(theme=theme().slug)
            response = client.submit(url, {"csrf_token": client.csrf_token(url), "title": "<"})
            assert response.status_code in {200, 400, 422}, f"{role} POST {url}"
            _save(tmp_path, pages, f"{role} POST {url}", response.get_data(as_text=True))
        if user is not None:
            client.logout()
    assert len(pages) > 100  # the crawl reached the whole surface
    # ... including a synthesis with a suppressed cell and a questionnaire page.
    texts = [f.read_text(encoding="utf-8") for f in tmp_path.glob("*.html")]
    assert any("secret statistique" in t and "<table" in t for t in texts)
    assert any('type="radio"' in t and "questionnaire" in t for t in texts)

    # Generated French: no space before a comma in what people read.
    stray = []
    for f in tmp_path.glob("*.html"):
        words = _visible_text(f.read_text(encoding="utf-8"))
        stray += [f"{pages[f.stem][:80]}: «{m}»" for m in re.findall(r"\S{0,20} ,\S{0,20}", words)]
    assert not stray, "space before a comma:\n" + "\n".join(sorted(set(stray)))

    errors = run_vnu(tmp_path)
    # One line per distinct error, with how many pages show it and a few of them.
    grouped: dict[str, list[str]] = {}
    for m in errors:
        key = f"{m['message']} «{' '.join(m.get('extract', '').split())[:100]}»"
        grouped.setdefault(key, []).append(pages[Path(m["url"]).stem][:90])
    report = [f"{len(where)}× {key}\n    e.g. {where[:3]}" for key, where in grouped.items()]
    assert not report, f"{len(errors)} HTML errors:\n" + "\n".join(sorted(report))


def test_vnu_finds_an_error(tmp_path) -> None:
    """The check can fail: a page with a faulty ``datetime`` and a duplicate id is refused."""
    (tmp_path / "bad.html").write_text(
        '<!doctype html><html lang="fr"><head><title>t</title></head><body>'
        '<time datetime="2026-01-01T10:00:00.123456789+00:00">x</time>'
        '<p id="a"></p><p id="a"></p></body></html>',
        encoding="utf-8",
    )
    messages = " ".join(m["message"] for m in run_vnu(tmp_path))
    assert "datetime" in messages
    assert "Duplicate ID" in messages
