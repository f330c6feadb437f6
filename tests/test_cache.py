from __future__ import annotations

from consult.cache import MemoryCache, cached_json


def test_memory_cache_expires(monkeypatch) -> None:
    import consult.cache as module

    clock = [100.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    cache = MemoryCache()
    cache.set("k", "v", ttl=10)
    assert cache.get("k") == "v"
    clock[0] += 11
    assert cache.get("k") is None


def test_cached_json_computes_once_then_serves_the_cache(app) -> None:
    calls = []

    def compute() -> dict:
        calls.append(1)
        return {"n": len(calls)}

    with app.app_context():
        app.extensions["consult_local_cache"].delete("test:key")
        app.extensions["consult_cache"].delete("test:key")
        assert cached_json("test:key", 60, compute) == {"n": 1}
        assert cached_json("test:key", 60, compute) == {"n": 1}
        # A second worker (empty local cache) still reads the shared value.
        app.extensions["consult_local_cache"].delete("test:key")
        assert cached_json("test:key", 60, compute) == {"n": 1}
        assert calls == [1]
        app.extensions["consult_cache"].delete("test:key")


def test_cache_outage_degrades_to_computing(app, monkeypatch) -> None:
    class Broken:
        def get(self, key: str) -> str:
            raise ConnectionError("redis down")

        def set(self, key: str, value: str, ttl: int) -> None:
            raise ConnectionError("redis down")

    monkeypatch.setitem(app.extensions, "consult_cache", Broken())
    with app.app_context():
        app.extensions["consult_local_cache"].delete("test:outage")
        assert cached_json("test:outage", 60, lambda: {"ok": True}) == {"ok": True}
