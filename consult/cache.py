"""A small shared cache: Redis when ``REDIS_URL`` is set (shared by all gunicorn workers),
an in-process dictionary otherwise."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from typing import Any

from flask import Flask, current_app

# Entries a worker keeps at most: keys come partly from requests (territories, pages), so an
# unbounded dictionary could be grown by anyone; the least recently used entry goes first.
DEFAULT_MAX_ENTRIES = 2048


class MemoryCache:
    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._data: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max(1, max_entries)

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._data.get(key)
            if item is None or item[0] < time.monotonic():
                self._data.pop(key, None)
                return None
            self._data.move_to_end(key)
            return item[1]

    def set(self, key: str, value: str, ttl: int) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    # Bytes, several keys at once: the page cache reads its generation and its entry in one go.
    def get_raw(self, keys: list[str]) -> list[Any]:
        return [self.get(key) for key in keys]

    def set_raw(self, key: str, value: bytes, ttl: int) -> None:
        self.set(key, value, ttl)  # type: ignore[arg-type]


class RedisCache:
    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix

    def get(self, key: str) -> str | None:
        value = self._client.get(self._prefix + key)
        return value.decode("utf-8") if value is not None else None

    def set(self, key: str, value: str, ttl: int) -> None:
        self._client.set(self._prefix + key, value, ex=ttl)

    def delete(self, key: str) -> None:
        self._client.delete(self._prefix + key)

    def get_raw(self, keys: list[str]) -> list[bytes | None]:
        return self._client.mget([self._prefix + key for key in keys])

    def set_raw(self, key: str, value: bytes, ttl: int) -> None:
        self._client.set(self._prefix + key, value, ex=ttl)


# Hot values (home counters, lists' totals) are read on almost every request: each worker keeps
# them a few seconds in memory, in front of Redis, to save a network round trip per request.
LOCAL_SECONDS = 5


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    prefix = app.config.get("CACHE_KEY_PREFIX", "consult:")
    size = int(app.config.get("CACHE_MAX_ENTRIES", DEFAULT_MAX_ENTRIES))
    app.extensions["consult_cache"] = RedisCache(url, prefix) if url else MemoryCache(size)
    app.extensions["consult_local_cache"] = MemoryCache(size)


def cache() -> MemoryCache | RedisCache:
    return current_app.extensions["consult_cache"]


def cached_json(key: str, ttl: int, compute: Any) -> Any:
    """Return the cached JSON value, computing and storing it when absent. A cache outage
    degrades to computing every time rather than failing the page."""
    local = current_app.extensions["consult_local_cache"]
    hot = local.get(key)
    if hot is not None:
        return json.loads(hot)
    value = _shared_cached_json(key, ttl, compute)
    local.set(key, json.dumps(value), min(ttl, LOCAL_SECONDS))
    return value


def _shared_cached_json(key: str, ttl: int, compute: Any) -> Any:
    store = cache()
    try:
        raw = store.get(key)
    except Exception:
        current_app.logger.warning("cache unavailable, computing %s directly", key)
        return compute()
    if raw is not None:
        return json.loads(raw)
    value = compute()
    try:
        store.set(key, json.dumps(value), ttl)
    except Exception:
        current_app.logger.warning("cache unavailable, could not store %s", key)
    return value
