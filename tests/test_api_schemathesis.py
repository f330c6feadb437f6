"""Schemathesis against the served open-data API: every operation of /api/v1/openapi.json is
fuzzed with valid and invalid inputs, and every response checked with all of schemathesis'
checks (no server error, status codes, content types, headers and bodies as documented, invalid
input refused, valid input accepted, 405 with Allow for an undeclared method). Data is seeded so
the listings and the single items answer with real bodies, not only 404s.

Bounded (a few examples per operation and phase) so the whole file stays well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.factories import RoleGrantFactory, UserFactory
from tests.forums_factories import CommentFactory, ContributionFactory
from tests.retex_factories import make_sheet
from tests.territorial_factories import EventFactory, IdeaFactory
from tests.test_synthesis_exports import compile_fixture


@pytest.fixture
def api_schema(app, session, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "SYNTHESIS_EXPORT_DIR", str(tmp_path / "exports"))
    for _ in range(3):
        contribution = ContributionFactory(body="=1+1 <b>x</b>")
        CommentFactory(contribution=contribution, polarity="contre")
        IdeaFactory()
        EventFactory()
    author = UserFactory(academie_code="16")
    coordinator = UserFactory(academie_code="16")
    RoleGrantFactory(user=coordinator, role="coordinator", scope_kind="academie", scope_code="16")
    make_sheet(author, "published", reviewer=coordinator)
    compile_fixture(session)
    session.flush()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.config.generation.update(
        modes=["positive", "negative"], max_examples=8, deterministic=True
    )
    return schema


def _check(case) -> None:
    # Schemathesis' WSGI transport advertises gzip but never decodes it (a real HTTP client
    # does): ask for the plain body, compression is tested in tests/test_weight.py.
    case.call_and_validate(headers={"Accept-Encoding": "identity"})


def test_api_conforms_to_its_document(api_schema) -> None:
    # schemathesis' own pytest integration (``from_fixture`` + ``parametrize``) renames the
    # pytest node through ``Function._nodeid``, gone in pytest 9: the same per-operation
    # Hypothesis tests are built here with its builder and run one by one.
    from schemathesis.core.failures import FailureGroup
    from schemathesis.core.result import Ok
    from schemathesis.pytest.lazy import get_all_tests

    bounded = settings(
        max_examples=8,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    failures: list[str] = []
    operations = 0
    for result in get_all_tests(
        schema=api_schema, test_func=_check, settings=bounded, given_kwargs=None
    ):
        assert isinstance(result, Ok), result.err()
        operation, test = result.ok()
        operations += 1
        try:
            test()
        except (FailureGroup, AssertionError) as exc:
            failures.append(f"{operation.label}: {exc}")
    assert operations == 17
    assert not failures, "\n\n".join(failures)
