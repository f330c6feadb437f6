"""The gd dataset (Grand Débat shape) written in set-based PostgreSQL SQL, for the synthesis
benchmark: 500k participants, 600k contributions, 5M votes, 1M comments, 1.4M questionnaire
responses, 60k ideas with 300k supports and ~3k Retex sheets.

    .venv/bin/python -m bench.gd_fill \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench_synthesis_gd [--fraction 0.01]

The Python demo generators write ~1,000 rows/s on this machine (hours for gd); generate_series
writes the same volumes in minutes. The shape is what the synthesis needs to be realistic:
audiences skewed like the 2020 consultation, académies weighted by school population, a few
contributions drawing most votes and comments, some contributions on which audiences disagree
(so both consensus labels occur), answers valid for each audience's questionnaire path. Every
row carries its author snapshot, every denormalised counter equals its rows (``check``).

PostgreSQL only. Random draws use the server's random(): figures differ from run to run, only
counts are fixed (votes, supports and responses are exact; duplicates are redrawn).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from surveys import tally

# 2020-style audiences: many pupils and teachers, fewer parents, few others.
AUDIENCE_WEIGHTS = {
    "eleve": 31,
    "professeur": 30,
    "parent": 21,
    "encadrement": 7,
    "agent": 6,
    "autre": 5,
}
SIZES = {
    "users": 500_000,
    "contributions": 600_000,
    "votes": 5_000_000,
    "comments": 1_000_000,
    "responses": 1_400_000,
    "ideas": 60_000,
    "supports": 300_000,
    "retex_per_academie": 100,
}
ANSWER_POOL = 3_000  # distinct generated answer sets per audience
REPLY_SHARE = 0.2
START = datetime(2026, 6, 1)  # the consultation window the rows fall in
DAYS = 150
END = datetime(2026, 11, 1)  # votes, comments and supports follow their item until then
ANALYZED = (
    "user_account",
    "forum_contribution",
    "forum_vote",
    "forum_comment",
    "territorial_idea",
    "territorial_idea_support",
    "survey_participation",
    "survey_response",
    "retex_sheet",
    "retex_revision",
)
SCRATCH = ("bench_fill_users", "bench_fill_contrib", "bench_fill_top", "bench_fill_answers")


def sizes_for(fraction: float) -> dict[str, int]:
    sizes = {k: max(1, round(v * fraction)) for k, v in SIZES.items()}
    # Votes and supports are unique per (item, person): never ask for more pairs than exist.
    sizes["users"] = max(sizes["users"], 60)
    sizes["votes"] = min(sizes["votes"], sizes["contributions"] * sizes["users"] // 4)
    sizes["supports"] = min(sizes["supports"], sizes["ideas"] * sizes["users"] // 120)
    return sizes


def _slots(weights: dict[str, float], total: int = 1000) -> list[str]:
    """A lookup array where each key fills a share of slots proportional to its weight, so
    ``slots[1 + floor(random() * n)]`` is a weighted draw in SQL."""
    whole = sum(weights.values())
    out: list[str] = []
    for key, weight in weights.items():
        out += [key] * max(1, round(total * weight / whole))
    return out


# Popularity skew: index = floor(n * random() ^ SKEW); a few rows draw most of the traffic.
VOTE_SKEW = 3.5
COMMENT_SKEW = 3.0
SUPPORT_SKEW = 2.5

USERS_SQL = """
INSERT INTO user_account (pseudonym, pseudonym_key, email, email_key, password_hash, audience,
    school_level, other_actor_kind, academie_code, session_version, created_at, updated_at,
    is_demo)
SELECT 'Participant' || (:offset + i), 'participant' || (:offset + i),
    'participant' || (:offset + i) || '@consult.test',
    'participant' || (:offset + i) || '@consult.test', :hash, s.aud,
    CASE WHEN s.aud = 'eleve' THEN (ARRAY['college', 'lycee'])[1 + i % 2] END,
    CASE WHEN s.aud = 'autre' THEN (ARRAY['collectivite', 'association', 'partenaire'])[1 + i % 3]
    END,
    s.acad, 1, s.at, s.at, true
FROM (SELECT i,
             (CAST(:aud_slots AS text[]))[1 + floor(random() * :n_aud)::int] AS aud,
             (CAST(:acad_slots AS text[]))[1 + floor(random() * :n_acad)::int] AS acad,
             CAST(:start AS timestamp) + power(random(), 1.6) * :days * interval '1 day' AS at
      FROM generate_series(1, :users) AS i) s
"""
# Dense 0-based keys over the rows just written, so random draws never miss a gap in ids.
USERS_MAP_SQL = """
CREATE UNLOGGED TABLE bench_fill_users AS
SELECT (row_number() OVER (ORDER BY id) - 1)::int AS k, id, audience, academie_code, created_at
FROM user_account WHERE id > :offset_id
"""
CONTRIBUTIONS_SQL = """
INSERT INTO forum_contribution (theme_id, subtheme_id, author_id, title, body, excerpt,
    created_at, author_audience, author_academie_code, hidden_at, hidden_reason)
SELECT s.theme_id, s.subtheme_id, u.id, s.title, s.body, left(s.body, 280), s.at,
    u.audience, u.academie_code,
    CASE WHEN s.hide THEN s.at + interval '1 day' END,
    CASE WHEN s.hide THEN 'Contenu hors charte.' END
FROM (SELECT g,
             (CAST(:sub_theme AS int[]))[j] AS theme_id,
             (CAST(:sub_id AS int[]))[j] AS subtheme_id,
             (CAST(:title_a AS text[]))[8 * (CAST(:sub_pos AS int[]))[j] - 7 + g % 8] || ' '
                 || (CAST(:title_b AS text[]))[8 * (CAST(:sub_pos AS int[]))[j] - 7
                                                + (g / 8) % 8] AS title,
             (CAST(:sentences AS text[]))[1 + g % :n_sent] || ' '
                 || (CAST(:sentences AS text[]))[1 + (g / 7) % :n_sent] || ' '
                 || (CAST(:sentences AS text[]))[1 + (g / 53) % :n_sent] AS body,
             uk, at, hide
      FROM (SELECT g, 1 + floor(power(random(), 1.3) * :n_sub)::int AS j,
                   floor(random() * :users)::int AS uk,
                   CAST(:start AS timestamp) + power(random(), 1.4) * :days * interval '1 day'
                       AS at,
                   random() < 0.002 AS hide
            FROM generate_series(1, :contributions) AS g) x) s
JOIN bench_fill_users u ON u.k = s.uk
"""
CONTRIB_MAP_SQL = """
CREATE UNLOGGED TABLE bench_fill_contrib AS
SELECT (row_number() OVER (ORDER BY id) - 1)::int AS k, id, author_id, created_at,
    hidden_at IS NULL AS visible
FROM forum_contribution WHERE id > :offset_id
"""
# Adoption probability per (contribution, audience): most contributions please everyone to some
# degree; one in seven splits pupils and teachers from the others, one in eleven the reverse,
# so the consensus analysis finds both consensuelle and clivante contributions.
VOTES_SQL = """
INSERT INTO forum_vote (contribution_id, user_id, value, created_at, updated_at, author_audience,
    author_academie_code)
SELECT c.id, u.id,
    CASE WHEN s.r < CASE
        WHEN c.k % 7 = 3 THEN CASE WHEN u.audience IN ('eleve', 'professeur') THEN 0.82 ELSE 0.2 END
        WHEN c.k % 11 = 5 THEN CASE WHEN u.audience IN ('parent', 'encadrement') THEN 0.85
                                    ELSE 0.25 END
        ELSE 0.5 + 0.45 * ((c.k::bigint * 7919) % 1000) / 1000.0
             - CASE WHEN u.audience = 'agent' THEN 0.1 ELSE 0 END END
    THEN 'adopt' ELSE 'refuse' END,
    c.created_at + s.t * (CAST(:end AS timestamp) - c.created_at),
    c.created_at + s.t * (CAST(:end AS timestamp) - c.created_at),
    u.audience, u.academie_code
FROM (SELECT floor(:contributions * power(random(), :skew))::int AS ck,
             floor(random() * :users)::int AS uk, random() AS r, random() AS t
      FROM generate_series(1, :n)) s
JOIN bench_fill_contrib c ON c.k = s.ck AND c.visible
JOIN bench_fill_users u ON u.k = s.uk AND u.id <> c.author_id
ON CONFLICT (contribution_id, user_id) DO NOTHING
"""
COMMENTS_SQL = """
INSERT INTO forum_comment (contribution_id, author_id, polarity, body, created_at, hidden_at,
    hidden_reason, author_audience, author_academie_code)
SELECT c.id, u.id, s.pol,
    CASE WHEN s.pol = 'pour' THEN (CAST(:pour AS text[]))[1 + s.v % :n_pour]
         ELSE (CAST(:contre AS text[]))[1 + s.v % :n_contre] END,
    c.created_at + s.t * (CAST(:end AS timestamp) - c.created_at),
    CASE WHEN s.hide THEN CAST(:end AS timestamp) END,
    CASE WHEN s.hide THEN 'Propos injurieux.' END,
    u.audience, u.academie_code
FROM (SELECT ck, floor(random() * :users)::int AS uk, random() AS t, g AS v,
             random() < 0.003 AS hide,
             CASE WHEN random() < 0.25 + 0.5 * ((ck * 31) % 100) / 100.0 THEN 'pour'
                  ELSE 'contre' END AS pol
      FROM (SELECT g, floor(:contributions * power(random(), :skew))::int AS ck
            FROM generate_series(1, :n) AS g) x) s
JOIN bench_fill_contrib c ON c.k = s.ck AND c.visible
JOIN bench_fill_users u ON u.k = s.uk
"""
TOP_MAP_SQL = """
CREATE UNLOGGED TABLE bench_fill_top AS
SELECT (row_number() OVER (ORDER BY id) - 1)::int AS k, id, contribution_id, polarity, created_at
FROM forum_comment WHERE id > :offset_id AND hidden_at IS NULL
"""
# One reply level: a reply answers a visible top-level comment and sits in its column.
REPLIES_SQL = """
INSERT INTO forum_comment (contribution_id, parent_id, author_id, polarity, body, created_at,
    author_audience, author_academie_code)
SELECT p.contribution_id, p.id, u.id, p.polarity,
    (CAST(:replies AS text[]))[1 + s.v % :n_replies],
    p.created_at + s.t * (CAST(:end AS timestamp) - p.created_at), u.audience, u.academie_code
FROM (SELECT g AS v, floor(:tops * power(random(), 2))::int AS pk,
             floor(random() * :users)::int AS uk, random() AS t
      FROM generate_series(1, :n) AS g) s
JOIN bench_fill_top p ON p.k = s.pk
JOIN bench_fill_users u ON u.k = s.uk
"""
# Every counter in one UPDATE: each updated row is rewritten into all ten indexes of
# forum_contribution (the French full-text GIN one included), so one pass costs half of two.
# The forum's own rule (forums.services._comment_counts): visible comments count, replies
# included; pour/contre count visible top-level comments only.
COUNTERS_SQL = """
UPDATE forum_contribution c SET adopt_count = coalesce(v.a, 0), refuse_count = coalesce(v.r, 0),
    wilson = CASE WHEN coalesce(v.a + v.r, 0) = 0 THEN 0 ELSE
        ((v.a::float / (v.a + v.r)) + 1.9208 / (v.a + v.r)
         - 1.96 * sqrt(((v.a::float / (v.a + v.r)) * (1 - v.a::float / (v.a + v.r))
                        + 0.9604 / (v.a + v.r)) / (v.a + v.r)))
        / (1 + 3.8416 / (v.a + v.r)) END,
    pour_count = coalesce(m.p, 0), contre_count = coalesce(m.n, 0), comment_count = coalesce(m.t, 0)
FROM (SELECT id FROM forum_contribution WHERE id > :offset_id) x
LEFT JOIN (SELECT contribution_id, count(*) FILTER (WHERE value = 'adopt') AS a,
                  count(*) FILTER (WHERE value = 'refuse') AS r
           FROM forum_vote GROUP BY contribution_id) v ON v.contribution_id = x.id
LEFT JOIN (SELECT contribution_id,
                  count(*) FILTER (WHERE polarity = 'pour' AND parent_id IS NULL) AS p,
                  count(*) FILTER (WHERE polarity = 'contre' AND parent_id IS NULL) AS n,
                  count(*) AS t
           FROM forum_comment WHERE hidden_at IS NULL AND NOT held_for_review
           GROUP BY contribution_id) m ON m.contribution_id = x.id
WHERE c.id = x.id AND (v.contribution_id IS NOT NULL OR m.contribution_id IS NOT NULL)
"""
IDEAS_SQL = """
INSERT INTO territorial_idea (academie_code, author_id, title, body, support_count, status,
    answer, answered_at, created_at, held_for_review, report_count, author_audience,
    author_academie_code)
SELECT u.academie_code, u.id, (CAST(:subjects AS text[]))[1 + s.g % :n_subjects],
    (CAST(:details AS text[]))[1 + s.g % :n_details] || ' '
        || (CAST(:details AS text[]))[1 + (s.g / 5) % :n_details] || ' '
        || (CAST(:asks AS text[]))[1 + (s.g / 3) % :n_asks],
    0, s.status, CASE WHEN s.status IS NOT NULL THEN (CAST(:answers AS text[]))[s.si] END,
    CASE WHEN s.status IS NOT NULL THEN s.at + interval '3 days' END, s.at, false, 0,
    u.audience, u.academie_code
FROM (SELECT g, uk, at, si, (CAST(:statuses AS text[]))[si] AS status
      FROM (SELECT g, floor(random() * :users)::int AS uk,
                   CAST(:start AS timestamp) + power(random(), 1.3) * :days * interval '1 day'
                       AS at,
                   width_bucket(random(), CAST(:status_cuts AS float8[])) - 1 AS si
            FROM generate_series(1, :ideas) AS g) x) s
JOIN bench_fill_users u ON u.k = s.uk
"""
# Supporters come from the idea's own académie (people support ideas where they live).
SUPPORTS_SQL = """
WITH ideas AS (
    SELECT (row_number() OVER (ORDER BY id) - 1)::int AS k, id, academie_code, author_id,
        created_at
    FROM territorial_idea WHERE id > :offset_id),
local AS (
    SELECT academie_code, (row_number() OVER (PARTITION BY academie_code ORDER BY id) - 1)::int
        AS k, id, audience
    FROM bench_fill_users),
sizes AS (SELECT academie_code, count(*) AS n FROM bench_fill_users GROUP BY academie_code)
INSERT INTO territorial_idea_support (idea_id, user_id, created_at, author_audience,
    author_academie_code)
SELECT i.id, l.id, i.created_at + s.t * (CAST(:end AS timestamp) - i.created_at), l.audience,
    l.academie_code
FROM (SELECT floor(:ideas * power(random(), :skew))::int AS ik, random() AS pick, random() AS t
      FROM generate_series(1, :n)) s
JOIN ideas i ON i.k = s.ik
JOIN sizes z ON z.academie_code = i.academie_code
JOIN local l ON l.academie_code = i.academie_code AND l.k = floor(s.pick * z.n)::int
    AND l.id <> i.author_id
ON CONFLICT (idea_id, user_id) DO NOTHING
"""
IDEA_COUNTERS_SQL = """
UPDATE territorial_idea i SET support_count = s.n
FROM (SELECT idea_id, count(*) AS n FROM territorial_idea_support GROUP BY idea_id) s
WHERE s.idea_id = i.id AND i.id > :offset_id
"""
# About half the registered participants (questionnaire audiences) answer with their account;
# access codes bring the rest, as in 2020 (surveys.demo does the same in Python).
RESPONDENTS_SQL = """
CREATE UNLOGGED TABLE bench_fill_respondents AS
SELECT id, audience, academie_code, floor(random() * :pool)::int AS ak,
    CAST(:start AS timestamp) + power(random(), 1.5) * :days * interval '1 day' AS at
FROM bench_fill_users WHERE audience = ANY(CAST(:q_audiences AS text[]))
ORDER BY random() LIMIT :with_account
"""
PARTICIPATIONS_SQL = """
INSERT INTO survey_participation (questionnaire_id, user_id, submitted_at)
SELECT :qid, id, at FROM bench_fill_respondents
"""
RESPONSES_ACCOUNT_SQL = """
INSERT INTO survey_response (questionnaire_id, submitted_at, answers, has_personal_data,
    via_code, author_audience, author_academie_code)
SELECT :qid, r.at, a.answers, a.personal, false, r.audience, r.academie_code
FROM bench_fill_respondents r JOIN bench_fill_answers a ON a.audience = r.audience AND a.k = r.ak
"""
RESPONSES_CODE_SQL = """
INSERT INTO survey_response (questionnaire_id, submitted_at, answers, has_personal_data,
    via_code, author_audience, author_academie_code)
SELECT :qid, s.at, a.answers, a.personal, true, s.aud, s.acad
FROM (SELECT (CAST(:aud_slots AS text[]))[1 + floor(random() * :n_aud)::int] AS aud,
             (CAST(:acad_slots AS text[]))[1 + floor(random() * :n_acad)::int] AS acad,
             floor(random() * :pool)::int AS ak,
             CAST(:start AS timestamp) + power(random(), 1.5) * :days * interval '1 day' AS at
      FROM generate_series(1, :n)) s
JOIN bench_fill_answers a ON a.audience = s.aud AND a.k = s.ak
"""


class Filler:
    """Runs the fill step by step on one session; ``commit`` is called between steps (real
    commits from the command line, savepoint releases inside a test transaction)."""

    def __init__(
        self,
        session: Session,
        sizes: dict[str, int],
        log: Callable[[str], None],
        pool: int = ANSWER_POOL,
    ):
        self.session = session
        self.sizes = sizes
        self.log = log
        self.pool = pool
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, label: str) -> Iterator[None]:
        began = time.perf_counter()
        # Bulk writes: no wait for the WAL flush, room for the hash joins and sorts.
        self.run("SET LOCAL synchronous_commit = off")
        self.run("SET LOCAL work_mem = '256MB'")
        yield
        self.session.commit()
        self.timings[label] = time.perf_counter() - began
        self.log(f"{label}: {self.timings[label]:.1f} s")

    def run(self, sql: str, **params: Any) -> int:
        return self.session.execute(text(sql), params).rowcount

    def scalar(self, sql: str, **params: Any) -> Any:
        return self.session.execute(text(sql), params).scalar()

    def max_id(self, table: str) -> int:
        return self.scalar(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 - fixed names

    def fill(self) -> dict[str, float]:
        from consult.territories import load_territories

        load_territories(self.session)
        self.drop_scratch()
        s = self.sizes
        common = {"start": START, "days": DAYS, "end": END, "users": s["users"]}
        acad_slots = _slots(_academie_weights(self.session))
        with self.step("participants"):
            from consult.demo import DEMO_PASSWORD
            from consult.security import hash_password

            offset = self.max_id("user_account")
            aud_slots = _slots(AUDIENCE_WEIGHTS)
            self.run(
                USERS_SQL,
                offset=offset,
                hash=hash_password(DEMO_PASSWORD),
                aud_slots=aud_slots,
                n_aud=len(aud_slots),
                acad_slots=acad_slots,
                n_acad=len(acad_slots),
                **common,
            )
            self.run(USERS_MAP_SQL, offset_id=offset)
            self.run("ALTER TABLE bench_fill_users ADD PRIMARY KEY (k)")
            self.run("ANALYZE bench_fill_users")
        with self.step("contributions"):
            self.contributions(common)
            common["contributions"] = self.scalar("SELECT count(*) FROM bench_fill_contrib")
        with self.step("votes"):
            self.exact(VOTES_SQL, "forum_vote", s["votes"], skew=VOTE_SKEW, **common)
        with self.step("comments"):
            self.comments(common)
        with self.step("forum counters"):
            offset = self.contrib_offset
            self.run(COUNTERS_SQL, offset_id=offset)
        with self.step("ideas and supports"):
            self.ideas(common)
        with self.step("questionnaire responses"):
            self.responses(common, acad_slots)
        with self.step("retex sheets"):
            self.retex()
        with self.step("cleanup and analyze"):
            self.drop_scratch()
            # Fresh statistics after a bulk load, so the planner sees the real row counts.
            for table in ANALYZED:
                self.run(f"ANALYZE {table}")
        return self.timings

    def drop_scratch(self) -> None:
        for table in (*SCRATCH, "bench_fill_respondents"):
            self.run(f"DROP TABLE IF EXISTS {table}")

    def contributions(self, common: dict) -> None:
        from forums.demo import SENTENCES, TITLES

        subthemes = self.session.execute(
            text(
                "SELECT s.id, s.theme_id, t.position FROM forum_subtheme s "
                "JOIN forum_theme t ON t.id = s.theme_id ORDER BY t.position, s.position"
            )
        ).all()
        if not subthemes:
            raise RuntimeError("no forum theme: run `flask --app app init` first")
        positions = sorted({row.position for row in subthemes})
        # Titles per theme position (forums.demo keys them 1..5): 8 openings x 8 objects.
        title_a = [t for p in positions for t in _eight(TITLES[1 + (p - 1) % 5][0])]
        title_b = [t for p in positions for t in _eight(TITLES[1 + (p - 1) % 5][1])]
        rank = {p: i + 1 for i, p in enumerate(positions)}
        self.contrib_offset = self.max_id("forum_contribution")
        self.run(
            CONTRIBUTIONS_SQL,
            sub_id=[row.id for row in subthemes],
            sub_theme=[row.theme_id for row in subthemes],
            sub_pos=[rank[row.position] for row in subthemes],
            n_sub=len(subthemes),
            title_a=title_a,
            title_b=title_b,
            sentences=SENTENCES,
            n_sent=len(SENTENCES),
            **common | {"contributions": self.sizes["contributions"]},
        )
        self.run(CONTRIB_MAP_SQL, offset_id=self.contrib_offset)
        self.run("ALTER TABLE bench_fill_contrib ADD PRIMARY KEY (k)")
        self.run("ANALYZE bench_fill_contrib")

    def exact(self, sql: str, table: str, target: int, **params: Any) -> None:
        """Insert-with-skip until exactly ``target`` new rows exist: duplicate pairs and
        self-votes are dropped by the statement, then redrawn."""
        before = self.scalar(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
        done = 0
        for _attempt in range(30):
            missing = target - done
            if missing <= 0:
                break
            # Ask for a little more than missing (the skips), then trim the excess below.
            done += self.run(sql, n=missing + missing // 20 + 10, **params)
        if done < target:
            raise RuntimeError(f"{table}: only {done} of {target} rows after 30 draws")
        if done > target:
            self.run(
                f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} "  # noqa: S608
                "ORDER BY id DESC LIMIT :extra)",
                extra=done - target,
            )
        total = self.scalar(f"SELECT count(*) FROM {table}")  # noqa: S608
        assert total - before == target, (table, total - before, target)

    def comments(self, common: dict) -> None:
        from forums.demo import COMMENTS_CONTRE, COMMENTS_POUR

        total = self.sizes["comments"]
        replies = round(total * REPLY_SHARE)
        offset = self.max_id("forum_comment")
        self.exact(
            COMMENTS_SQL,
            "forum_comment",
            total - replies,
            skew=COMMENT_SKEW,
            pour=COMMENTS_POUR,
            n_pour=len(COMMENTS_POUR),
            contre=COMMENTS_CONTRE,
            n_contre=len(COMMENTS_CONTRE),
            **common,
        )
        self.run(TOP_MAP_SQL, offset_id=offset)
        self.run("ALTER TABLE bench_fill_top ADD PRIMARY KEY (k)")
        tops = self.scalar("SELECT count(*) FROM bench_fill_top")
        replies_text = [
            "Merci pour cette précision, je n'avais pas vu les choses ainsi.",
            "Dans notre académie, c'est déjà le cas depuis la rentrée.",
            "Je partage votre avis, mais il faudra des moyens.",
            "Avez-vous un exemple concret dans votre établissement ?",
        ]
        self.run(
            REPLIES_SQL,
            n=replies,
            tops=tops,
            replies=replies_text,
            n_replies=len(replies_text),
            **common,
        )

    def ideas(self, common: dict) -> None:
        from consult.territorial.demo import ANSWERS, IDEA_ASKS, IDEA_DETAILS, IDEA_SUBJECTS
        from consult.territorial.models import IdeaStatus

        statuses = list(IdeaStatus)
        offset = self.max_id("territorial_idea")
        self.run(
            IDEAS_SQL,
            subjects=IDEA_SUBJECTS,
            n_subjects=len(IDEA_SUBJECTS),
            details=IDEA_DETAILS,
            n_details=len(IDEA_DETAILS),
            asks=IDEA_ASKS,
            n_asks=len(IDEA_ASKS),
            # Half the ideas unanswered (si = 0 indexes nothing: NULL), then the statuses.
            status_cuts=[0.0, 0.5, 0.7, 0.82, 0.92],
            statuses=[st.value for st in statuses],
            answers=[ANSWERS[st] for st in statuses],
            ideas=self.sizes["ideas"],
            **common,
        )
        self.exact(
            SUPPORTS_SQL,
            "territorial_idea_support",
            self.sizes["supports"],
            offset_id=offset,
            ideas=self.sizes["ideas"],
            skew=SUPPORT_SKEW,
            **common,
        )
        self.run(IDEA_COUNTERS_SQL, offset_id=offset)

    def responses(self, common: dict, acad_slots: list[str]) -> None:
        from surveys import engine, services

        definition = engine.load_file(engine.default_path())
        questionnaire = services.current_questionnaire(self.session, definition.slug)
        if questionnaire is None:
            questionnaire, _changed = services.load_definition(
                self.session, definition, datetime(2020, 6, 1)
            )
            self.session.flush()
        definition = questionnaire.definition
        pool = answer_pool(definition, self.pool)
        self.run(
            "CREATE UNLOGGED TABLE bench_fill_answers (audience text, k int, answers jsonb, "
            "personal boolean, PRIMARY KEY (audience, k))"
        )
        self.session.execute(
            text(
                "INSERT INTO bench_fill_answers VALUES "
                "(:audience, :k, CAST(:answers AS jsonb), :personal)"
            ),
            pool,
        )
        total = self.sizes["responses"]
        audiences = list(definition.audiences)
        with_account = min(
            self.scalar(
                "SELECT count(*) FROM bench_fill_users WHERE audience = ANY(CAST(:a AS text[]))",
                a=audiences,
            )
            // 2,
            total * 3 // 5,
        )
        self.run(
            RESPONDENTS_SQL,
            pool=self.pool,
            q_audiences=audiences,
            with_account=with_account,
            **common,
        )
        self.run(PARTICIPATIONS_SQL, qid=questionnaire.id)
        self.run(RESPONSES_ACCOUNT_SQL, qid=questionnaire.id)
        aud_slots = _slots({a: w for a, w in AUDIENCE_WEIGHTS.items() if a in audiences})
        self.run(
            RESPONSES_CODE_SQL,
            qid=questionnaire.id,
            n=total - with_account,
            pool=self.pool,
            aud_slots=aud_slots,
            n_aud=len(aud_slots),
            acad_slots=acad_slots,
            n_acad=len(acad_slots),
            **common,
        )

    def retex(self) -> None:
        """Retex sheets are few (~3k): the module's own demo generator writes them, with its
        statuses (60 % published with a revision), reviews and territory levels."""
        import retex.demo

        retex.demo.PER_ACADEMIE["bench"] = self.sizes["retex_per_academie"]
        retex.demo.generate(self.session, "bench", random.Random(2020), _quiet_progress)


def _eight(values: list[str]) -> list[str]:
    return (list(values) * 8)[:8]


def _academie_weights(session: Session) -> dict[str, float]:
    from consult.demo import ACADEMIE_WEIGHTS

    codes = session.execute(text("SELECT code FROM academie ORDER BY code")).scalars().all()
    return {code: ACADEMIE_WEIGHTS.get(code, 100) for code in codes}


def answer_pool(definition, per_audience: int) -> list[dict[str, Any]]:
    """Distinct answer sets per audience drawn by the questionnaire's own demo answerer, each
    checked against the definition; responses pick from this pool in SQL."""
    import json

    from consult.text import find_personal_data
    from surveys import engine
    from surveys.demo import Answerer

    rng = random.Random(1400)
    rows = []
    for audience in definition.audiences:
        answerer = Answerer(definition, audience)
        for k in range(per_audience):
            answers = answerer.answer(rng)
            engine.check_stored(definition, audience, answers)
            texts = [v for v in answers.values() if isinstance(v, str) and len(v) > 25]
            rows.append(
                {
                    "audience": audience,
                    "k": k,
                    "answers": json.dumps(answers, ensure_ascii=False),
                    "personal": any(find_personal_data(t) for t in texts),
                }
            )
    return rows


@contextlib.contextmanager
def _quiet_progress(_label: str, _total: int) -> Iterator[Any]:
    class Bar:
        def update(self, _n: int) -> None:
            pass

    yield Bar()


# --- Consistency --------------------------------------------------------------------------------

CHECKS = {
    "vote counters": """
        SELECT count(*) FROM forum_contribution c LEFT JOIN (
            SELECT contribution_id, count(*) FILTER (WHERE value = 'adopt') AS a,
                   count(*) FILTER (WHERE value = 'refuse') AS r
            FROM forum_vote GROUP BY contribution_id) v ON v.contribution_id = c.id
        WHERE c.adopt_count <> coalesce(v.a, 0) OR c.refuse_count <> coalesce(v.r, 0)
           OR abs(c.wilson - CASE WHEN coalesce(v.a + v.r, 0) = 0 THEN 0 ELSE
                ((v.a::float / (v.a + v.r)) + 1.9208 / (v.a + v.r)
                 - 1.96 * sqrt(((v.a::float / (v.a + v.r)) * (1 - v.a::float / (v.a + v.r))
                                + 0.9604 / (v.a + v.r)) / (v.a + v.r)))
                / (1 + 3.8416 / (v.a + v.r)) END) > 1e-9""",
    "comment counters": """
        SELECT count(*) FROM forum_contribution c LEFT JOIN (
            SELECT contribution_id,
                   count(*) FILTER (WHERE polarity = 'pour' AND parent_id IS NULL) AS p,
                   count(*) FILTER (WHERE polarity = 'contre' AND parent_id IS NULL) AS n,
                   count(*) AS t
            FROM forum_comment WHERE hidden_at IS NULL AND NOT held_for_review
            GROUP BY contribution_id) m ON m.contribution_id = c.id
        WHERE c.pour_count <> coalesce(m.p, 0) OR c.contre_count <> coalesce(m.n, 0)
           OR c.comment_count <> coalesce(m.t, 0)""",
    "support counters": """
        SELECT count(*) FROM territorial_idea i LEFT JOIN (
            SELECT idea_id, count(*) AS n FROM territorial_idea_support GROUP BY idea_id) s
            ON s.idea_id = i.id
        WHERE i.support_count <> coalesce(s.n, 0)""",
    "vote snapshots": """
        SELECT count(*) FROM forum_vote v JOIN user_account u ON u.id = v.user_id
        WHERE v.author_audience <> u.audience
           OR v.author_academie_code IS DISTINCT FROM u.academie_code""",
    "comment snapshots": """
        SELECT count(*) FROM forum_comment x JOIN user_account u ON u.id = x.author_id
        WHERE x.author_audience <> u.audience
           OR x.author_academie_code IS DISTINCT FROM u.academie_code""",
    "contribution snapshots": """
        SELECT count(*) FROM forum_contribution x JOIN user_account u ON u.id = x.author_id
        WHERE x.author_audience <> u.audience
           OR x.author_academie_code IS DISTINCT FROM u.academie_code""",
    "support snapshots": """
        SELECT count(*) FROM territorial_idea_support x JOIN user_account u ON u.id = x.user_id
        WHERE x.author_audience <> u.audience
           OR x.author_academie_code IS DISTINCT FROM u.academie_code""",
    "self votes": """
        SELECT count(*) FROM forum_vote v JOIN forum_contribution c ON c.id = v.contribution_id
        WHERE v.user_id = c.author_id""",
    "replies to replies or across contributions": """
        SELECT count(*) FROM forum_comment r JOIN forum_comment p ON p.id = r.parent_id
        WHERE p.parent_id IS NOT NULL OR p.contribution_id <> r.contribution_id
           OR p.polarity <> r.polarity""",
    "responses without snapshot": """
        SELECT count(*) FROM survey_response
        WHERE author_academie_code IS NULL OR author_audience = ''""",
    # Responses are inserted set-based: the tally's statement triggers count them in bulk.
    "answer tallies (cells differing from a recount)": tally.differences_sql("postgresql"),
}


def check(session: Session) -> dict[str, int]:
    """Rows breaking an invariant of the app, per invariant (all must be 0)."""
    return {name: session.execute(text(sql)).scalar() for name, sql in CHECKS.items()}


def counts(session: Session) -> dict[str, int]:
    tables = [
        "user_account",
        "forum_contribution",
        "forum_vote",
        "forum_comment",
        "survey_response",
        "survey_participation",
        "territorial_idea",
        "territorial_idea_support",
        "retex_sheet",
        "retex_revision",
    ]
    return {
        t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar()  # noqa: S608
        for t in tables
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--fraction", type=float, default=1.0, help="share of the gd sizes")
    parser.add_argument(
        "--check", action="store_true", help="only run the consistency checks and counts"
    )
    args = parser.parse_args()
    import os

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("CONSULT_ENV", "development")
    from consult import create_app, migrate
    from consult.db import db

    app = create_app()
    with app.app_context():
        session = db.session
        if args.check:
            print(counts(session))
            problems = check(session)
            print(problems)
            sys.exit(1 if any(problems.values()) else 0)
        migrate.upgrade("heads")
        if session.execute(text("SELECT count(*) FROM forum_contribution")).scalar():
            sys.exit("the database already holds contributions: fill an empty one")
        began = time.perf_counter()
        sizes = sizes_for(args.fraction)
        print("sizes:", sizes, flush=True)
        Filler(session, sizes, lambda line: print(line, flush=True)).fill()
        print(f"filled in {time.perf_counter() - began:.0f} s", flush=True)
        print(counts(session), flush=True)
        problems = check(session)
        print("invariants broken (all must be 0):", problems, flush=True)
        sys.exit(1 if any(problems.values()) else 0)


if __name__ == "__main__":
    main()
