"""Page weight: fingerprinted static files cached a year, compressed responses, robots.txt and
favicon.ico.

Fingerprints are computed here from the files' content (and recomputed when a file changes), so
a fresh clone, an edited stylesheet in development and a built bundle all get a correct URL with
no manifest to keep in sync. ``url_for('static', filename='css/consult.css')`` becomes
``/static/css/consult.<hash>.css``; that URL is served with ``immutable`` and a year of cache.
The plain URL still works, with a short cache. ``make assets`` writes ``.br``/``.gz`` variants
beside the built text files; they are served when the client accepts them and they are fresh.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
import re
import threading
from pathlib import Path
from typing import Any

import brotli
from flask import Flask, Response, abort, current_app, request, send_from_directory
from flask_login import current_user
from werkzeug.security import safe_join

HASH_LENGTH = 12
IMMUTABLE = "public, max-age=31536000, immutable"
# Unhashed URLs (old pages in a cache, CSS url() references, hand-typed links) must still pick
# up a new deployment within the hour.
SHORT = "public, max-age=3600"
HASHED_NAME = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{12})(?P<ext>\.[A-Za-z0-9]+)$")

COMPRESSIBLE = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/atom+xml",
    "application/rss+xml",
    "application/geo+json",
    "application/problem+json",
    "application/manifest+json",
    "application/vnd.oai.openapi",
    "image/svg+xml",
)
# Below this, the headers of a compressed response outweigh what compression saves.
MIN_SIZE = 512
BROTLI_QUALITY = 5  # dynamic pages: fast enough per request, most of the gain of quality 11
GZIP_LEVEL = 6

_hashes: dict[str, tuple[int, int, str]] = {}
_lock = threading.Lock()


def file_hash(path: str) -> str | None:
    """The content hash of a static file, recomputed only when its size or mtime changes."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    cached = _hashes.get(path)
    if cached and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
        return cached[2]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    value = digest.hexdigest()[:HASH_LENGTH]
    with _lock:
        _hashes[path] = (stat.st_mtime_ns, stat.st_size, value)
    return value


def hashed_filename(static_folder: str, filename: str) -> str:
    """``css/consult.css`` -> ``css/consult.<hash>.css``; unknown files are left unchanged."""
    path = safe_join(static_folder, filename)
    if path is None or not os.path.isfile(path):
        return filename
    stem, dot, ext = filename.rpartition(".")
    if not dot or "/" in ext or not stem or stem.endswith("/"):
        return filename  # no extension to keep: the plain name (short cache) will do
    return f"{stem}.{file_hash(path)}.{ext}"


def _accepted(encoding: str) -> bool:
    return request.accept_encodings[encoding] > 0


def negotiate_encoding(accept: Any) -> str | None:
    """The encoding a page is sent in for this Accept-Encoding (the page cache keys on it)."""
    if accept["br"] > 0:
        return "br"
    if accept["gzip"] > 0:
        return "gzip"
    return None


def _negotiate() -> str | None:
    return negotiate_encoding(request.accept_encodings)


def serve_static(filename: str) -> Response:
    """The static route: a hashed name whose hash matches the file is immutable for a year;
    any other name is served with a short cache (a stale hash after a deploy still gets the
    current file rather than a 404)."""
    folder = current_app.static_folder
    assert folder is not None
    immutable = False
    real = filename
    path = safe_join(folder, filename)
    if path is None:
        abort(404)
    if not os.path.isfile(path):
        match = HASHED_NAME.match(filename)
        if not match:
            abort(404)
        real = match["stem"] + match["ext"]
        path = safe_join(folder, real)
        if path is None or not os.path.isfile(path):
            abort(404)
        immutable = file_hash(path) == match["hash"]
    response = _precompressed(folder, real, path)
    if response is None:
        response = send_from_directory(folder, real, max_age=0)
    if any(os.path.isfile(path + suffix) for suffix in (".br", ".gz")):
        response.vary.add("Accept-Encoding")  # caches must key on it when variants exist
    response.headers["Cache-Control"] = IMMUTABLE if immutable else SHORT
    return response


def send_static_compressed(filename: str, cache_control: str) -> Response | None:
    """A file under static/ through its pre-compressed variant when there is a fresh one the
    client accepts (for routes that serve a built file under their own URL); None if absent."""
    folder = current_app.static_folder
    assert folder is not None
    path = safe_join(folder, filename)
    if path is None or not os.path.isfile(path):
        return None
    response = _precompressed(folder, filename, path) or send_from_directory(
        folder, filename, max_age=0
    )
    response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = cache_control
    return response


def _precompressed(folder: str, real: str, path: str) -> Response | None:
    for encoding, suffix in (("br", ".br"), ("gzip", ".gz")):
        variant = path + suffix
        if not _accepted(encoding) or not os.path.isfile(variant):
            continue
        if os.stat(variant).st_mtime_ns < os.stat(path).st_mtime_ns:
            continue  # the source changed after the build: serve it, never a stale copy
        response = send_from_directory(folder, real + suffix, max_age=0)
        guessed, _ = mimetypes.guess_type(real)
        response.content_type = guessed or "application/octet-stream"
        if guessed and guessed.startswith("text/"):
            response.content_type = f"{guessed}; charset=utf-8"
        # The variant's own ETag (from its own file) already differs from the plain file's,
        # and send_file checked If-None-Match against it: a 304 stays possible.
        response.headers["Content-Encoding"] = encoding
        return response
    return None


def _compressible(response: Response) -> bool:
    if response.direct_passthrough or response.is_streamed:
        return False  # files and streamed exports: never buffered whole here
    if response.status_code < 200 or response.status_code in (204, 206, 304):
        return False
    if "Content-Encoding" in response.headers:
        return False
    mimetype = response.mimetype or ""
    return mimetype.startswith(COMPRESSIBLE) or mimetype.endswith(("+json", "+xml"))


def page_digest(body: bytes) -> str:
    """What a page's weak validator names: its final body, before compression (the logged-in
    fast path of consult.skeleton tags its pages with it too)."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def encode_body(body: bytes, encoding: str | None) -> bytes | None:
    """``body`` in the negotiated encoding, or None when it goes as it is (nothing accepted,
    or too small to gain)."""
    if encoding is None or len(body) < MIN_SIZE:
        return None
    if encoding == "br":
        return brotli.compress(body, quality=BROTLI_QUALITY)
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def _conditional_page(response: Response) -> Response:
    """A page answered with a validator, so that a repeat visit of an unchanged page costs a
    304 (headers only) instead of the whole HTML: /syntheses/ is 25 KB compressed, and the
    budget of a repeat visit is 15 KB. The tag hashes the final body, so it changes with
    anything the page shows (content, counters, language, the logged-in header)."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    if response.mimetype != "text/html" or response.get_etag()[0]:
        return response
    if "Cache-Control" not in response.headers:
        # A visitor's page is everybody's page (consult.pagecache shares it); a page with a
        # session may carry a name, a flash or a token: the browser's only.
        personal = current_user.is_authenticated or (
            current_app.config["SESSION_COOKIE_NAME"] in request.cookies
        )
        response.headers["Cache-Control"] = "private, no-cache" if personal else "no-cache"
    if "no-store" in response.headers["Cache-Control"]:
        return response
    response.set_etag(page_digest(response.get_data()), weak=True)
    # The tag is weak: the same page compressed by gzip or brotli is the same page.
    return response.make_conditional(request)


def compress_response(response: Response) -> Response:
    if _compressible(response):
        response = _conditional_page(response)
    if not _compressible(response):
        return response
    response.vary.add("Accept-Encoding")
    if request.method == "HEAD":
        return response
    encoding = _negotiate()
    if encoding is None:
        return response
    data = encode_body(response.get_data(), encoding)
    if data is None:
        return response
    response.set_data(data)
    response.headers["Content-Encoding"] = encoding
    etag, weak = response.get_etag()
    if etag and not weak:
        # A strong tag names bytes, and these are new bytes; a weak one names the page.
        response.set_etag(f"{etag}-{encoding}")
    return response


def init_app(app: Flask) -> None:
    assert app.static_folder is not None
    static_folder = app.static_folder

    @app.url_defaults
    def _fingerprint(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = hashed_filename(static_folder, values["filename"])

    app.view_functions["static"] = serve_static

    @app.route("/robots.txt")
    def robots_txt() -> Response:
        response = send_from_directory(static_folder, "robots.txt", max_age=0)
        response.headers["Cache-Control"] = SHORT
        return response

    @app.route("/favicon.ico")
    def favicon_ico() -> Response:
        response = send_from_directory(
            Path(static_folder) / "dsfr" / "favicon", "favicon.ico", max_age=0
        )
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    # Registered before every other after_request hook, so it runs last (Flask runs them in
    # reverse): it compresses the final body, headers and all.
    app.after_request_funcs.setdefault(None, []).insert(0, compress_response)
