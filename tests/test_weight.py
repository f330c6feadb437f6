"""Page weight: compressed responses, fingerprinted static files cached a year, robots.txt,
favicon.ico, a meta description on every public page, and the first-visit budget of the home."""

from __future__ import annotations

import gzip
import html as html_lib
import re
import time
from pathlib import Path

import brotli
import pytest

from consult import static_assets

STATIC = Path(__file__).resolve().parent.parent / "static"
MAIN_PUBLIC = ["/", "/forums/", "/territoires/", "/retex/", "/questionnaire/"]
ASSET_RE = re.compile(r'<(?:link[^>]*href|script[^>]*src)="(/static/[^"]+)"')
DESCRIPTION_RE = re.compile(r'<meta name="description" content="([^"]*)">')


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


@pytest.mark.parametrize(("accept", "encoding"), [("br, gzip", "br"), ("gzip", "gzip"), ("", None)])
def test_html_compression_is_negotiated(client, accept, encoding) -> None:
    headers = {"Accept-Encoding": accept} if accept else {}
    response = client.get("/", headers=headers)
    assert response.status_code == 200
    assert "Accept-Encoding" in response.headers.get("Vary", "")
    assert response.headers.get("Content-Encoding") == encoding
    body = response.get_data()
    if encoding == "br":
        body = brotli.decompress(body)
    elif encoding == "gzip":
        body = gzip.decompress(body)
    assert b"<html" in body
    assert int(response.headers["Content-Length"]) == len(response.get_data())


def test_refused_encoding_is_not_used(client) -> None:
    response = client.get("/", headers={"Accept-Encoding": "br;q=0, gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    response = client.get("/", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in response.headers


def test_json_is_compressed_and_files_are_not_buffered(client) -> None:
    response = client.get("/api/v1/openapi.json", headers={"Accept-Encoding": "gzip"})
    if response.status_code == 200 and len(response.get_data()) > static_assets.MIN_SIZE:
        assert response.headers["Content-Encoding"] == "gzip"
    # A file response is passed through (never read whole into memory by the compressor).
    response = client.get("/favicon.ico", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers


def test_streamed_response_is_left_alone(app) -> None:
    from flask import Response, stream_with_context

    chunks = (f"ligne {n}\n" * 200 for n in range(3))
    with app.test_request_context("/", headers={"Accept-Encoding": "gzip"}):
        response = Response(stream_with_context(chunks), mimetype="text/csv")
        out = static_assets.compress_response(response)
    assert out.is_streamed
    assert "Content-Encoding" not in out.headers


def test_static_urls_are_hashed_and_immutable(client) -> None:
    html = _page(client, "/")
    assets = ASSET_RE.findall(html)
    assert assets, "the home page references its CSS and JS"
    for url in assets:
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", url), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        response.close()


def test_unhashed_and_stale_urls_still_work_with_a_short_cache(client) -> None:
    response = client.get("/static/css/consult.css")
    assert response.status_code == 200
    assert "immutable" not in response.headers["Cache-Control"]
    response.close()
    stale = client.get("/static/css/consult.000000000000.css")
    assert stale.status_code == 200
    assert "immutable" not in stale.headers["Cache-Control"]
    stale.close()
    assert client.get("/static/css/absent.000000000000.css").status_code == 404
    assert client.get("/static/../consult/__init__.py").status_code == 404


def test_hash_follows_the_content(tmp_path) -> None:
    asset = tmp_path / "a.css"
    asset.write_text("body{}")
    first = static_assets.hashed_filename(str(tmp_path), "a.css")
    time.sleep(0.01)
    asset.write_text("body{color:red}")
    second = static_assets.hashed_filename(str(tmp_path), "a.css")
    assert first != second
    assert re.fullmatch(r"a\.[0-9a-f]{12}\.css", second)
    assert static_assets.hashed_filename(str(tmp_path), "missing.css") == "missing.css"


def test_precompressed_variant_is_served_when_fresh(client, tmp_path, app) -> None:
    folder = Path(app.static_folder)
    target = folder / "css" / "consult.css"
    variant = Path(str(target) + ".br")
    if variant.exists():
        response = client.get("/static/css/consult.css", headers={"Accept-Encoding": "br"})
        assert response.headers["Content-Encoding"] == "br"
        assert response.mimetype == "text/css"
        assert brotli.decompress(response.get_data()) == target.read_bytes()
        assert "Accept-Encoding" in response.headers["Vary"]
        response.close()
    response = client.get("/static/css/consult.css", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in response.headers
    assert response.get_data() == target.read_bytes()
    response.close()


def test_robots_and_favicon(client) -> None:
    robots = client.get("/robots.txt")
    assert robots.status_code == 200
    assert robots.mimetype == "text/plain"
    assert b"User-agent: *" in robots.get_data()
    assert b"Disallow: /compte/" in robots.get_data()
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 200
    assert favicon.get_data()[:4] == b"\x00\x00\x01\x00"  # the ICO magic number
    favicon.close()


@pytest.mark.parametrize(
    "path", [*MAIN_PUBLIC, "/donnees-personnelles", "/mentions-legales", "/accessibilite"]
)
def test_every_public_page_has_a_meta_description(client, path) -> None:
    html = _page(client, path)
    found = DESCRIPTION_RE.findall(html)
    assert len(found) == 1, path
    assert 40 <= len(html_lib.unescape(found[0])) <= 201, found[0]


def test_main_pages_have_their_own_description(client) -> None:
    seen = {DESCRIPTION_RE.search(_page(client, path))[1] for path in MAIN_PUBLIC}
    assert len(seen) == len(MAIN_PUBLIC)


def test_home_first_visit_weighs_under_150_kb_compressed(client) -> None:
    """HTML + the CSS and JS it references, as a browser accepting brotli gets them (fonts and
    the icons CSS url()s load lazily and are left aside, as the budget says)."""
    response = client.get("/", headers={"Accept-Encoding": "br, gzip"})
    total = len(response.get_data())
    html = brotli.decompress(response.get_data()).decode()
    for url in ASSET_RE.findall(html):
        asset = client.get(url, headers={"Accept-Encoding": "br, gzip"})
        assert asset.status_code == 200, url
        body = asset.get_data()
        if "Content-Encoding" not in asset.headers:
            body = brotli.compress(body, quality=5)  # what a compressing proxy would send
        total += len(body)
        asset.close()
    assert total < 150 * 1024, f"first visit of / weighs {total} bytes"


def _built(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make assets` (node scripts/build-assets.mjs)")
    return path


def test_dsfr_bundle_holds_the_used_components_only(client) -> None:
    bundle = _built(STATIC / "dsfr" / "consult-dsfr.min.css").read_text()
    full = (STATIC / "dsfr" / "dsfr.min.css").stat().st_size
    full += (STATIC / "dsfr" / "utility" / "icons" / "icons.min.css").stat().st_size
    assert len(bundle) < 0.7 * full
    # What the pages use is there...
    html = _page(client, "/")
    used = set(re.findall(r'class="([^"]+)"', html))
    classes = {c for group in used for c in group.split() if c.startswith("fr-")}
    full_css = (STATIC / "dsfr" / "dsfr.min.css").read_text()
    for cls in sorted(classes):
        if f".{cls}" in full_css:  # some are hooks the DSFR does not style
            assert f".{cls}" in bundle, cls
    for icon in ("fr-icon-download-line", "fr-icon-thumb-up-line", "fr-icon-calendar-line"):
        assert f".{icon}" in bundle
    # ... components no template uses are not.
    for unused in ("fr-accordion__btn", "fr-tabs__tab", "fr-consent-banner", "fr-tooltip"):
        assert f".{unused}" not in bundle
    # Fonts and icons it points to are fingerprinted, so they are cached a year too.
    font = re.search(r"url\((fonts/Marianne-Regular\.[0-9a-f]{12}\.woff2)\)", bundle)
    assert font, "the font url() is fingerprinted"
    response = client.get(f"/static/dsfr/{font[1]}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == static_assets.IMMUTABLE
    response.close()


def test_plotly_bundle_holds_the_chart_traces_only(client) -> None:
    import plotly

    bundle = _built(STATIC / "vendor" / "plotly.min.js")
    full = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert bundle.stat().st_size < 0.75 * full.stat().st_size
    text = bundle.read_text()
    for trace in ("bar", "heatmap", "choroplethmap", "scatter"):
        assert f'"{trace}"' in text, trace
    for trace in ("scatter3d", "parcoords"):
        assert f'"{trace}"' not in text, trace
    url = "/static/" + static_assets.hashed_filename(str(STATIC), "vendor/plotly.min.js")
    response = client.get(url, headers={"Accept-Encoding": "br"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == static_assets.IMMUTABLE
    assert response.headers["Content-Encoding"] == "br"
    assert response.mimetype == "text/javascript"
    response.close()


def test_precompressed_static_revalidates_with_304(client) -> None:
    url = "/static/" + static_assets.hashed_filename(str(STATIC), "dsfr/consult-dsfr.min.css")
    first = client.get(url, headers={"Accept-Encoding": "br"})
    assert first.headers["Content-Encoding"] == "br"
    etag = first.headers["ETag"]
    first.close()
    again = client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": etag})
    assert again.status_code == 304
    plain = client.get(url, headers={"If-None-Match": etag})
    assert plain.status_code == 200  # the identity body has another ETag
    assert "Content-Encoding" not in plain.headers
    plain.close()


def test_an_unchanged_page_revalidates_with_304_and_a_changed_one_does_not(client, user) -> None:
    first = client.get("/forums/", headers={"Accept-Encoding": "br"})
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    assert "no-cache" in first.headers["Cache-Control"]
    # The same page in another encoding is the same page: the weak tag still matches.
    for accept in ("br", "gzip", ""):
        again = client.get("/forums/", headers={"Accept-Encoding": accept, "If-None-Match": etag})
        assert again.status_code == 304, accept
        assert again.get_data() == b""
    # A logged-in visitor sees another header, so another tag: never the anonymous page's 304.
    client.login(user.email)
    logged = client.get("/forums/", headers={"If-None-Match": etag})
    assert logged.status_code == 200
    assert logged.headers["ETag"] != etag


def test_pages_that_must_not_be_stored_get_no_validator(client) -> None:
    response = client.get("/compte/connexion")
    if response.status_code == 200 and "no-store" in response.headers.get("Cache-Control", ""):
        assert "ETag" not in response.headers
    missing = client.get("/cette-page-n-existe-pas")
    assert missing.status_code == 404
    assert "ETag" not in missing.headers
