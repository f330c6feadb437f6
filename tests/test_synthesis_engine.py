"""Exact figures of the synthesis engine on the hand-made dataset of tests/synthesis_factories."""

from __future__ import annotations

from synthesis import engine, store
from tests.synthesis_factories import build_dataset


def test_smoke(session):
    build_dataset(session)
    compilation = engine.compile_all(session)
    tables = store.load(session, "national", "", public=False)
    for name, df in tables.items():
        print(name)
        print(df.head(30).to_string())
    assert compilation.status == "done"
