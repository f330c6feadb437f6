"""Page weight as a browser gets it: the bytes of a first visit and of a repeat visit.

A first visit downloads the page (compressed, ``Accept-Encoding: br, gzip``) and everything it
references, transitively: stylesheets, scripts (and the modules they import), images, the icon,
the GeoJSON a chart fetches, and what the stylesheets point to with ``url()`` or ``@import``.
Fonts are left aside, as the budget says. Every response counts its status line, its headers and
its body as they came over the wire.

A ``url()`` of a stylesheet is only downloaded by a browser when a rule using it applies to the
page (the DSFR bundle names ~700 icons, a page shows a dozen): it is counted when every class
of one of its rule's selectors is on the page (classes a script adds later are not seen;
selectors without a class, or on attributes only, count). Those images are shown apart
(``css_urls_bytes``).

A repeat visit is the same page when the browser's cache holds everything from the first one:
a response cached as ``immutable`` or with a fresh ``max-age`` is not asked for again; any other
one is revalidated with its validator (``If-None-Match`` / ``If-Modified-Since``: a 304 counts
its headers only) or downloaded again when it has none. The page itself is always revalidated,
as a browser does for a navigation.

``fetch`` is any callable (path, headers) -> :class:`Answer`: :class:`HttpFetcher` for a running
server, or an adapter over Flask's test client (tests/test_bench_weight.py).
"""

from __future__ import annotations

import gzip
import html
import http.client
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import brotli

ACCEPT = {"Accept-Encoding": "br, gzip"}
FONT_EXTENSIONS = (".woff2", ".woff", ".ttf", ".otf", ".eot")
BUDGET_FIRST = 150 * 1024
BUDGET_FIRST_CHARTS = 1200 * 1024
BUDGET_REPEAT = 15 * 1024

CSS_URL_RE = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
CSS_IMPORT_RE = re.compile(r"""@import\s+(?:url\()?\s*['"]([^'"]+)['"]""")
# Static and dynamic ES module imports of a script (`import x from "./a.js"`, `import("./b.js")`).
JS_IMPORT_RE = re.compile(
    r"""(?:\bimport\s*\(\s*|\bimport\s+(?:[\w$*{}\s,]+\s+from\s+)?|\bexport\s+[\w$*{}\s,]+\s+from\s+)"""
    r"""['"]([^'"]+\.m?js)['"]"""
)
# Data a page's own script fetches: the chart maps' GeoJSON, named in the figures' JSON.
GEOJSON_RE = re.compile(r"""["'](/[^"'\s<>]+\.geojson)["']""")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes  # as sent (still compressed)
    wire_bytes: int  # status line + headers + body


def wire_size(status: int, reason: str, headers: list[tuple[str, str]], body: bytes) -> int:
    line = len(f"HTTP/1.1 {status} {reason}\r\n")
    return line + sum(len(k) + len(v) + 4 for k, v in headers) + 2 + len(body)


class HttpFetcher:
    """GETs over one keep-alive loopback connection, as a browser's would be."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = headers or {}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def __call__(self, path: str, headers: dict[str, str]) -> Answer:
        for attempt in (1, 2):
            try:
                self.conn.request("GET", path, headers=self.headers | headers)
                response = self.conn.getresponse()
                body = response.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt == 2:
                    raise
        pairs = response.getheaders()
        return Answer(
            response.status,
            {k.lower(): v for k, v in pairs},
            body,
            wire_size(response.status, response.reason, pairs, body),
        )

    def close(self) -> None:
        self.conn.close()


def decoded(answer: Answer) -> bytes:
    encoding = answer.headers.get("content-encoding", "").strip().lower()
    if encoding == "br":
        return brotli.decompress(answer.body)
    if encoding == "gzip":
        return gzip.decompress(answer.body)
    if encoding == "deflate":
        return zlib.decompress(answer.body)
    return answer.body


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []  # (kind, url)
        self.classes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.classes.update(a.get("class", "").split())
        if tag == "link" and a.get("href"):
            rel = set(a.get("rel", "").lower().split())
            if "stylesheet" in rel:
                self.found.append(("css", a["href"]))
            elif rel & {"icon", "modulepreload"} or (
                "preload" in rel and a.get("as", "").lower() != "font"
            ):
                self.found.append(("other", a["href"]))
        elif tag == "script" and a.get("src"):
            self.found.append(("js", a["src"]))
        elif tag in ("img", "source", "input", "video", "audio") and a.get("src"):
            if tag != "input" or a.get("type", "").lower() == "image":
                self.found.append(("other", a["src"]))
        elif tag == "image" and (a.get("href") or a.get("xlink:href")):  # inline SVG
            self.found.append(("other", a.get("href") or a["xlink:href"]))
        style = a.get("style", "")
        for _quote, url in CSS_URL_RE.findall(style):
            self.found.append(("css-url", url))


def html_references(text: str) -> tuple[list[tuple[str, str]], set[str]]:
    """(kind, url) of what a page makes the browser download — kind is ``css``, ``js``,
    ``other`` or ``css-url`` (a ``<style>`` block's or ``style`` attribute's ``url()``) — and
    the classes its elements carry."""
    parser = _References()
    parser.feed(text)
    found = parser.found
    for block in re.findall(r"<style[^>]*>(.*?)</style>", text, re.S | re.I):
        found += css_references(block, parser.classes)
    found += [("other", url) for url in GEOJSON_RE.findall(html.unescape(text))]
    return found, parser.classes


CSS_COMMENT_RE = re.compile(r"/\*.*?\*/", re.S)
CSS_RULE_RE = re.compile(r"([^{}]*)\{([^{}]*)\}")  # innermost blocks: a rule and its declarations
CLASS_RE = re.compile(r"\.((?:[\w-]|\\.)+)")


def selector_may_apply(prelude: str, classes: set[str]) -> bool:
    """Whether one selector of the list only needs classes the page has (at-rules such as
    ``@font-face`` apply)."""
    prelude = prelude.strip()
    if prelude.startswith("@"):
        return True
    for selector in prelude.split(","):
        # Attribute values may hold dots ([href$=".pdf"]): classes are outside brackets.
        outside = re.sub(r"\[[^\]]*\]", "", selector)
        needed = {c.replace("\\", "") for c in CLASS_RE.findall(outside)}
        if needed <= classes:
            return True
    return False


def css_references(text: str, classes: set[str] | None = None) -> list[tuple[str, str]]:
    """``@import``-ed stylesheets, and the ``url()`` of the rules that may apply to a page with
    these classes (all of them when ``classes`` is None)."""
    text = CSS_COMMENT_RE.sub("", text)
    imports = CSS_IMPORT_RE.findall(text)
    found = [("css", u) for u in imports]
    for prelude, body in CSS_RULE_RE.findall(text):
        if "url(" not in body:
            continue
        if classes is not None and not selector_may_apply(prelude, classes):
            continue
        found += [("css-url", u) for _q, u in CSS_URL_RE.findall(body) if u not in imports]
    return found


def js_references(text: str) -> list[tuple[str, str]]:
    return [("js", u) for u in JS_IMPORT_RE.findall(text)]


def is_font(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(FONT_EXTENSIONS)


def _resolve(base_path: str, ref: str) -> str | None:
    """The same-origin path (with query) a reference points to, or None (data:, another
    origin, a fragment of the document itself)."""
    ref = ref.strip()
    if not ref or ref.startswith(("data:", "#", "about:", "blob:", "javascript:")):
        return None
    joined = urlsplit(urljoin("http://page" + base_path, ref))
    if joined.netloc != "page":
        return None
    return joined.path + (f"?{joined.query}" if joined.query else "")


def _cache_directives(answer: Answer) -> dict[str, str]:
    value = answer.headers.get("cache-control", "")
    directives = {}
    for part in value.split(","):
        name, _, arg = part.strip().partition("=")
        if name:
            directives[name.lower()] = arg.strip('"')
    return directives


def reused_without_asking(answer: Answer) -> bool:
    """A browser holding this response uses it on the next visit without a request: it is
    ``immutable`` or fresh (``max-age`` > 0, not ``no-cache``/``no-store``)."""
    if answer.status != 200:
        return False
    d = _cache_directives(answer)
    if "no-store" in d or "no-cache" in d:
        return False
    try:
        max_age = int(d.get("max-age", "0"))
    except ValueError:
        max_age = 0
    return max_age > 0


def revalidation_headers(answer: Answer) -> dict[str, str] | None:
    """What the browser sends to revalidate its copy, or None: no validator (or ``no-store``),
    it downloads the whole response again."""
    if "no-store" in _cache_directives(answer):
        return None
    conditional = {}
    if answer.headers.get("etag"):
        conditional["If-None-Match"] = answer.headers["etag"]
    if answer.headers.get("last-modified"):
        conditional["If-Modified-Since"] = answer.headers["last-modified"]
    return conditional or None


@dataclass
class Weight:
    path: str
    status: int
    first_bytes: int = 0
    repeat_bytes: int = 0
    html_bytes: int = 0
    assets_bytes: int = 0  # what the HTML references, and their imports
    css_urls_bytes: int = 0  # what stylesheets' url() reference (fonts aside)
    repeat_requests: int = 0
    charts: bool = False
    resources: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    fonts_aside: int = 0

    @property
    def first_budget(self) -> int:
        return BUDGET_FIRST_CHARTS if self.charts else BUDGET_FIRST

    def met(self) -> bool:
        return self.first_bytes <= self.first_budget and self.repeat_bytes <= BUDGET_REPEAT

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "status": self.status,
            "first_bytes": self.first_bytes,
            "repeat_bytes": self.repeat_bytes,
            "html_bytes": self.html_bytes,
            "assets_bytes": self.assets_bytes,
            "css_urls_bytes": self.css_urls_bytes,
            "repeat_requests": self.repeat_requests,
            "charts": self.charts,
            "first_budget": self.first_budget,
            "repeat_budget": BUDGET_REPEAT,
            "fonts_aside": self.fonts_aside,
            "missing": self.missing,
            "resources": self.resources,
        }


def weigh(fetch: Callable[[str, dict[str, str]], Answer], path: str) -> Weight:
    """First and repeat visit of ``path``: see the module's docstring."""
    page = fetch(path, dict(ACCEPT))
    weight = Weight(path, page.status, html_bytes=page.wire_bytes)
    weight.first_bytes = page.wire_bytes
    cached: dict[str, Answer] = {}
    queue: list[tuple[str, str]] = []  # (kind, resolved path)
    seen: set[str] = {path}

    def enqueue(refs: list[tuple[str, str]], referrer: str) -> None:
        for kind, ref in refs:
            target = _resolve(referrer, ref)
            if target is None or target in seen:
                continue
            seen.add(target)
            if is_font(target):
                weight.fonts_aside += 1
                continue
            queue.append((kind, target))

    refs, classes = html_references(decoded(page).decode("utf-8", "replace"))
    enqueue(refs, path)
    while queue:
        kind, target = queue.pop(0)
        answer = fetch(target, dict(ACCEPT))
        cached[target] = answer
        if answer.status >= 400:
            weight.missing.append(target)
        if "plotly" in target:
            weight.charts = True
        counted_as = "css_urls" if kind == "css-url" else "assets"
        if counted_as == "css_urls":
            weight.css_urls_bytes += answer.wire_bytes
        else:
            weight.assets_bytes += answer.wire_bytes
        weight.first_bytes += answer.wire_bytes
        weight.resources.append(
            {"path": target, "kind": kind, "status": answer.status, "bytes": answer.wire_bytes}
        )
        if answer.status != 200:
            continue
        mimetype = answer.headers.get("content-type", "").split(";")[0].strip().lower()
        if mimetype == "text/css" or target.split("?")[0].endswith(".css"):
            enqueue(css_references(decoded(answer).decode("utf-8", "replace"), classes), target)
        elif "javascript" in mimetype or target.split("?")[0].endswith((".js", ".mjs")):
            enqueue(js_references(decoded(answer).decode("utf-8", "replace")), target)

    # The repeat visit: the page is revalidated; each resource reused, revalidated or fetched.
    weight.repeat_bytes = _again(fetch, path, page)
    weight.repeat_requests = 1
    for target, answer in cached.items():
        if reused_without_asking(answer):
            continue
        weight.repeat_requests += 1
        weight.repeat_bytes += _again(fetch, target, answer)
    return weight


def _again(fetch: Callable[[str, dict[str, str]], Answer], path: str, first: Answer) -> int:
    conditional = revalidation_headers(first)
    return fetch(path, dict(ACCEPT) | (conditional or {})).wire_bytes
