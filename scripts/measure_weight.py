"""Bytes of a first and a repeat visit of a few pages, as a brotli-accepting browser gets them.

Usage (from the repository root, demo data loaded): python scripts/measure_weight.py
A repeat visit re-fetches the HTML and every asset whose Cache-Control does not let the browser
reuse it without asking (no max-age, no-cache, no-store); a 304 answer counts its headers only.
"""

from __future__ import annotations

import re
import sys

import brotli

from consult import create_app

ASSET_RE = re.compile(r'<(?:link[^>]*href|script[^>]*src)="(/(?:static|questionnaire)/[^"]+)"')
HEADERS = {"Accept-Encoding": "br, gzip"}


def _size(response) -> int:
    head = sum(len(k) + len(v) + 4 for k, v in response.headers.items())
    return head + len(response.get_data())


def _cached(response) -> bool:
    cache = response.headers.get("Cache-Control", "")
    return "max-age=" in cache and "max-age=0" not in cache and "no-" not in cache


def measure(client, path: str) -> tuple[int, int]:
    page = client.get(path, headers=HEADERS)
    body = page.get_data()
    if page.headers.get("Content-Encoding") == "br":
        body = brotli.decompress(body)
    html = body.decode()
    first = _size(page)
    # A browser keeps the page with its validator and asks again with it: an unchanged page
    # comes back as a 304 with headers only.
    etag = page.headers.get("ETag")
    again = client.get(path, headers={**HEADERS, "If-None-Match": etag} if etag else HEADERS)
    repeat = _size(again)
    again.close()
    for url in dict.fromkeys(ASSET_RE.findall(html)):
        asset = client.get(url, headers=HEADERS)
        first += _size(asset)
        if not _cached(asset):
            repeat += _size(asset) if not asset.headers.get("ETag") else 300
        asset.close()
    return first, repeat


def main(paths: list[str]) -> None:
    app = create_app()
    with app.app_context():
        client = app.test_client()
        for path in paths:
            first, repeat = measure(client, path)
            print(f"{path:40} first {first / 1024:8.1f} KB   repeat {repeat / 1024:6.1f} KB")


if __name__ == "__main__":
    main(sys.argv[1:] or ["/", "/forums/", "/syntheses/"])
