"""The benchmark's page-weight measure (bench/weight.py) and its budget table (bench/suite.py):
what a first visit downloads, what a repeat visit asks again, and how figures meet budgets. The
weight of real pages is measured through the test client, on both databases."""

from __future__ import annotations

import pytest

from bench import suite, web_bench
from bench.weight import (
    BUDGET_FIRST,
    BUDGET_FIRST_CHARTS,
    Answer,
    css_references,
    html_references,
    reused_without_asking,
    revalidation_headers,
    weigh,
    wire_size,
)


def _fetcher(client, log: list | None = None):
    def fetch(path: str, headers: dict[str, str]) -> Answer:
        if log is not None:
            log.append((path, dict(headers)))
        response = client.get(path, headers=headers)
        body = response.get_data()
        pairs = list(response.headers.items())
        reason = response.status.split(" ", 1)[1]
        response.close()
        return Answer(
            response.status_code,
            {k.lower(): v for k, v in pairs},
            body,
            wire_size(response.status_code, reason, pairs, body),
        )

    return fetch


def _answer(cache_control: str = "", status: int = 200, **headers: str) -> Answer:
    found = {"cache-control": cache_control} if cache_control else {}
    found |= {k.replace("_", "-"): v for k, v in headers.items()}
    return Answer(status, found, b"x", 10)


def test_a_page_weighs_its_html_and_everything_it_references(client) -> None:
    log: list = []
    weight = weigh(_fetcher(client, log), "/forums/")
    assert weight.status == 200
    assert not weight.missing
    paths = [r["path"] for r in weight.resources]
    # The stylesheets and scripts of the page, by their fingerprinted URLs, each fetched once.
    assert any(p.startswith("/static/dsfr/consult-dsfr.min.") for p in paths)
    assert any(p.endswith(".js") for p in paths)
    assert len(paths) == len(set(paths))
    # Images the stylesheet points to are followed, fonts are not.
    assert any(r["kind"] == "css-url" for r in weight.resources)
    assert weight.fonts_aside > 0
    assert not any(p.endswith((".woff2", ".woff")) for p in paths)
    assert weight.first_bytes == weight.html_bytes + weight.assets_bytes + weight.css_urls_bytes
    # Every request accepted brotli: the stylesheet came compressed.
    assert all(h["Accept-Encoding"] == "br, gzip" for _p, h in log)
    assert weight.first_bytes < BUDGET_FIRST


def test_a_repeat_visit_revalidates_the_page_and_reuses_immutable_assets(client) -> None:
    log: list = []
    weight = weigh(_fetcher(client, log), "/forums/")
    # First visit: the page and each resource once; repeat visit: the page again, conditional,
    # answered 304 with headers only (every static file is fingerprinted and immutable).
    assert len(log) == 1 + len(weight.resources) + 1
    path, headers = log[-1]
    assert path == "/forums/"
    assert "If-None-Match" in headers
    assert weight.repeat_requests == 1
    assert weight.repeat_bytes < 1024 < weight.html_bytes


def test_only_the_url_of_rules_that_may_apply_are_downloaded() -> None:
    css = (
        "@import url('base.css');"
        ".fr-icon-a:before,.fr-icon-a:after{mask-image:url(icons/a.svg)}"
        ".fr-icon-b:before{mask-image:url('icons/b.svg')}"
        '@media (min-width:48em){.fr-btn.fr-btn--lg{background:url("lg.png")}}'
        "a[href$='.pdf']:after{background:url(pdf.svg)}"
        "/* .fr-icon-a{background:url(commented.svg)} */"
        "@font-face{src:url(fonts/M.woff2) format('woff2')}"
    )
    found = css_references(css, {"fr-icon-a", "fr-btn"})
    assert ("css", "base.css") in found
    urls = {u for kind, u in found if kind == "css-url"}
    # a: its class is on the page; b: not; lg: needs two classes, the page has one; the
    # attribute selector's dot is not a class; the comment is no rule; the font is kept (the
    # measure leaves it aside by its extension).
    assert urls == {"icons/a.svg", "pdf.svg", "fonts/M.woff2"}
    everything = {u for kind, u in css_references(css) if kind == "css-url"}
    assert {"icons/b.svg", "lg.png"} <= everything


def test_html_references_follow_what_a_browser_downloads() -> None:
    page = """<html><head>
      <link rel="stylesheet" href="/static/a.css"><link rel="icon" href="/static/i.svg">
      <link rel="preload" as="font" href="/static/f.woff2"><link rel="canonical" href="/x">
      <script type="module" src="/static/m.js"></script><script>var inline = 1;</script>
      <style>body{background:url(/static/hero.jpg)}.x{background:url(/static/no.jpg)}</style>
      </head><body class="page"><img class="fr-responsive-img" src="/static/p.png" alt="">
      <div data-figure="{&#34;geojson&#34;: &#34;/syntheses/carte/academies.geojson&#34;}"></div>
      <img src="data:image/png;base64,AAAA" alt=""><img src="https://other.example/x.png" alt="">
      </body></html>"""
    refs, classes = html_references(page)
    assert ("css", "/static/a.css") in refs
    assert ("other", "/static/i.svg") in refs
    assert ("js", "/static/m.js") in refs
    assert ("css-url", "/static/hero.jpg") in refs
    assert ("css-url", "/static/no.jpg") not in refs  # no element has its class
    assert ("other", "/static/p.png") in refs
    assert ("other", "/syntheses/carte/academies.geojson") in refs
    assert all("f.woff2" not in url and url != "/x" for _k, url in refs)
    assert classes == {"page", "fr-responsive-img"}


def test_cache_rules_of_a_repeat_visit() -> None:
    assert reused_without_asking(_answer("public, max-age=31536000, immutable"))
    assert reused_without_asking(_answer("public, max-age=3600"))
    assert not reused_without_asking(_answer("no-cache, max-age=3600"))
    assert not reused_without_asking(_answer("max-age=0"))
    assert not reused_without_asking(_answer("no-store"))
    assert not reused_without_asking(_answer(""))
    assert not reused_without_asking(_answer("max-age=3600", status=404))
    assert revalidation_headers(_answer("no-cache", etag='W/"1"')) == {"If-None-Match": 'W/"1"'}
    modified = "Wed, 21 Oct 2026 07:28:00 GMT"
    assert revalidation_headers(_answer("", last_modified=modified)) == {
        "If-Modified-Since": modified
    }
    assert revalidation_headers(_answer("no-store", etag='"1"')) is None
    assert revalidation_headers(_answer("no-cache")) is None


def test_wire_size_counts_status_line_headers_and_body() -> None:
    size = wire_size(200, "OK", [("Content-Length", "3")], b"abc")
    assert size == len(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")


def _figure(rps: float, p95: float = 5.0, budget: float | None = 0.4, non2xx: int = 0):
    return web_bench.Figure("page", int(rps * 10), 10.0, non2xx, 0, 2.0, p95, 9.0, budget)


def test_budget_rows_say_met_or_missed() -> None:
    (row,) = suite.page_rows(_figure(400), 1000, None)
    assert row.met is True and "40.0%" in row.value
    (row,) = suite.page_rows(_figure(399), 1000, None)
    assert row.met is False and row.verdict == "MISSED"
    (row,) = suite.page_rows(_figure(900, non2xx=3), 1000, None)
    assert row.met is False  # fast errors are no success
    share, p95 = suite.page_rows(_figure(900, p95=31), 1000, 30.0)
    assert share.met is True and p95.met is False
    redirected = _figure(900)
    redirected.status = 301  # fast, but not the page
    (row,) = suite.page_rows(redirected, 1000, None)
    assert row.met is False and "301" in row.value
    assert suite.search_row(redirected).met is False
    (row,) = suite.page_rows(_figure(900, budget=None), 1000, None)
    assert row.met is None and row.verdict == "-"
    weights = [
        {"path": "/", "status": 200, "missing": [], "first_bytes": BUDGET_FIRST + 1,
         "repeat_bytes": 200, "html_bytes": 1, "assets_bytes": 1, "css_urls_bytes": 0,
         "repeat_requests": 1, "first_budget": BUDGET_FIRST},
        {"path": "/syntheses/", "status": 200, "missing": [], "first_bytes": BUDGET_FIRST + 1,
         "repeat_bytes": 200, "html_bytes": 1, "assets_bytes": 1, "css_urls_bytes": 0,
         "repeat_requests": 1, "first_budget": BUDGET_FIRST_CHARTS},
    ]  # fmt: skip
    assert [r.met for r in suite.weight_rows(weights)] == [False, True]


def test_export_figures_are_read_from_export_bench_output() -> None:
    line = (
        "CSV export of 1400000 responses: 61.2 s wall, 40.5 s CPU, peak 180 MB, 610 MB written, "
        "22875 rows/s (load average 3.1)"
    )
    found = suite.parse_export("noise\n" + line + "\n")
    assert found == {"rows": 1400000, "wall_s": 61.2, "cpu_s": 40.5, "peak_mb": 180.0}
    assert suite.export_row(found).met is True
    assert suite.export_row(found | {"peak_mb": 301.0}).met is False
    assert suite.parse_export("Traceback (most recent call last)") is None


def test_sections_and_databases_of_the_command(monkeypatch) -> None:
    monkeypatch.delenv("BENCH_DATABASE_URL", raising=False)
    args = suite.parse_args(["--only", "pages, search", "--database-url", "postgresql:///x"])
    assert args.sections == {"pages", "search"}
    assert args.database_url == "postgresql:///x"
    assert suite.parse_args(["--fraction", "0.02"]).database_url.endswith("/bench_gd_0_02")
    assert suite.default_database(1.0).endswith("/bench_gd")
    with pytest.raises(SystemExit):
        suite.parse_args(["--only", "pages,nonsense"])
