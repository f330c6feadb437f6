"""Disclosure control of the coordinators' questionnaire results (cells, row and column totals,
shares and means of one question, and the responses per audience).

These figures are read live from the responses, but they are the same cells as the compiled
syntheses' questionnaire tables, so they go through the same rule (``synthesis.privacy``): a count
of fewer than 10 people is hidden behind the one neutral marker, every other count is published
with the noise of its cell key. The cell identities are the synthesis ones (answers to a question
and option, by audience at the nation or by académie; a question's respondents, which are the
responses of their population when every response answered it), so a figure printed here and in a
synthesis is the same figure, and column totals, which are cells of their own, give back noise,
not a hidden cell.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from synthesis import privacy

SHOWN, SECRET = "shown", "secret"


@dataclass
class Protection:
    """The status of every cell (shown or secret) and the figure published for the shown ones."""

    status: dict[Hashable, str] = field(default_factory=dict)
    published: dict[Hashable, int] = field(default_factory=dict)

    def of(self, key: Hashable) -> str:
        return self.status.get(key, SHOWN)

    def hidden(self, key: Hashable) -> bool:
        return self.of(key) != SHOWN

    def figure(self, key: Hashable, value: int) -> int:
        """The figure to print for a shown cell (its true value when nothing is protected)."""
        return self.published.get(key, value)

    @property
    def hidden_count(self) -> int:
        return sum(1 for s in self.status.values() if s != SHOWN)


def _protect(cells: Mapping[Hashable, tuple[str, int]]) -> Protection:
    """{page key: (cell identity, true count)} -> what the page prints."""
    key = privacy.secret()
    protection = Protection()
    for page_key, (cell, value) in cells.items():
        if privacy.hidden(value):
            protection.status[page_key] = SECRET
        else:
            protection.published[page_key] = privacy.perturb(cell, value, key)
    return protection


def _respondents(
    where: str, audience: str, question: str, value: int, responses: int | None
) -> str:
    """A question's respondents: the population's responses when every response answered it."""
    if responses is not None and responses == value:
        return privacy.identity("survey_responses", where, audience=audience)
    return privacy.identity("base", where, audience=audience, question=question)


def question(
    results,
    unsuppressed: bool,
    responses: dict[str, int] | None = None,
    audiences=(),
    responses_by_academie: dict[str, int] | None = None,
) -> Protection:
    """Every count printed for one question (surveys/question_results.html)."""
    if unsuppressed:
        return Protection()
    from consult.territories import catalog

    nation = privacy.NATION
    code = results.question.code
    responses = dict(responses or {})
    by_academie = responses_by_academie or {}
    total_responses = sum(responses.values()) if responses else None
    cells: dict[Hashable, tuple[str, int]] = {}
    overall = results.overall.respondents
    cells[("r", "*")] = (_respondents(nation, "*", code, overall, total_responses), overall)
    for aud, split in results.by_audience.items():
        cells[("r", aud)] = (
            _respondents(nation, aud, code, split.respondents, responses.get(aud)),
            split.respondents,
        )
    if results.question.type != "number":
        known = catalog().academies
        for acad, split in results.by_academie.items():
            if acad not in known:
                continue  # not printed (respondents without an académie)
            where = privacy.academie(acad)
            cells[("ar", acad)] = (
                _respondents(where, "*", code, split.respondents, by_academie.get(acad)),
                split.respondents,
            )
            for key, _label in results.keys:
                cells[("a", acad, key)] = (
                    privacy.identity("answers", where, question=code, option=key),
                    split.counts[key],
                )
        splits = [("*", results.overall), *results.by_audience.items()]
        for key, _label in results.keys:
            for aud, split in splits:
                cells[("c", key, aud)] = (
                    privacy.identity("answers", nation, audience=aud, question=code, option=key),
                    split.counts[key],
                )
                if results.question.type == "ranking":
                    cells[("f", key, aud)] = (
                        privacy.identity("first", nation, audience=aud, question=code, option=key),
                        split.first[key],
                    )
    return _protect(cells)


def response_counts(counts: dict[str, int], audiences: Sequence[str], unsuppressed: bool):
    """The responses per audience and their total (surveys/results.html)."""
    if unsuppressed:
        return Protection()
    cells: dict[Hashable, tuple[str, int]] = {
        ("r", a): (
            privacy.identity("survey_responses", privacy.NATION, audience=a),
            counts.get(a, 0),
        )
        for a in audiences
    }
    cells[("r", "*")] = (
        privacy.identity("survey_responses", privacy.NATION),
        sum(counts.values()),
    )
    return _protect(cells)
