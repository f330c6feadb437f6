"""Forum benchmark: the theme list sorted by adoption, a contribution page with ~200 comments,
search, the API list and vote POSTs, each next to a hello-world page served by the same
gunicorn configuration in the same run.

    .venv/bin/python -m bench.forums_bench --scale egn \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench_forums

The database is migrated and filled on first use (accounts + forums demo steps only, timed and
with peak memory); later runs reuse it. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import threading
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

from bench.harness import VENV_BIN, load, run_measured, serve

DEMO_PASSWORD = "demo-consult-2020"  # noqa: S105 - the public demo password
USER_AGENT = "consult-forums-bench"
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def generate(scale: str) -> None:
    """Subprocess entry: core accounts plus the forums step of the demo generator."""
    from consult import create_app, migrate
    from consult.demo import generate as demo_generate
    from consult.hooks import hooks

    app = create_app()
    with app.app_context():
        migrate.upgrade("heads")
        steps = hooks().demo_steps
        steps[:] = [step for step in steps if step[0] == "forums"]
        for line in demo_generate(scale):
            print(line)


# The gd shape filled in SQL (PostgreSQL only): the Python demo generator writes ~1,000 rows/s
# on this shared machine, hours for gd; generate_series writes the same volumes in minutes.
# Text is drawn from small arrays, so search figures are indicative only.
SQL_FILL = [
    """INSERT INTO user_account (pseudonym, pseudonym_key, email, email_key, password_hash,
        audience, academie_code, session_version, created_at, updated_at, is_demo)
    SELECT 'Participant' || i, 'participant' || i, 'participant' || i || '@consult.test',
        'participant' || i || '@consult.test', :hash,
        (ARRAY['eleve','parent','parent','professeur','professeur','encadrement','agent','autre'])
            [1 + i % 8],
        (SELECT array_agg(code ORDER BY code) FROM academie)[1 + i % 30], 1, now(), now(), true
    FROM generate_series(1, :users) AS i""",
    """INSERT INTO forum_contribution (theme_id, subtheme_id, author_id, title, body, excerpt,
        created_at, author_audience, author_academie_code)
    SELECT t.theme_id, t.subtheme_id, u.id,
        (ARRAY['Prêter un ordinateur portable','Former tous les enseignants',
               'Créer une banque de ressources libres','Simplifier l''ENT',
               'Héberger les données scolaires en France','Créer un observatoire'])[1 + g % 6]
        || ' ' || (ARRAY['dans les collèges ruraux','dès l''école primaire',
               'pour les familles','dans chaque académie','avec les collectivités'])[1 + g % 5],
        'Pendant le confinement, beaucoup de familles n''avaient qu''un téléphone. '
        || 'Il faut évaluer avant de généraliser. Proposition ' || g,
        'Pendant le confinement, beaucoup de familles n''avaient qu''un téléphone.',
        now() - (g % 500) * interval '1 day',
        u.audience, u.academie_code
    FROM generate_series(1, :contributions) AS g
    JOIN LATERAL (SELECT s.theme_id, s.id AS subtheme_id FROM forum_subtheme s
                  ORDER BY s.id OFFSET (g % 22) LIMIT 1) t ON true
    JOIN user_account u ON u.id = (SELECT min(id) FROM user_account WHERE is_demo)
                                  + (g * 31) % :users""",
    # Skewed popularity: power(random(), 4) puts most votes on the first contributions.
    """INSERT INTO forum_vote (contribution_id, user_id, value, created_at, updated_at,
        author_audience, author_academie_code)
    SELECT c0 + floor(:contributions * power(random(), 4))::int, u0 + floor(random() * :users)::int,
        CASE WHEN random() < 0.7 THEN 'adopt' ELSE 'refuse' END, now(), now(), 'parent', '13'
    FROM generate_series(1, :votes),
        (SELECT min(id) AS c0 FROM forum_contribution) c,
        (SELECT min(id) AS u0 FROM user_account WHERE is_demo) u
    ON CONFLICT DO NOTHING""",
    """INSERT INTO forum_comment (contribution_id, author_id, polarity, body, created_at,
        author_audience, author_academie_code)
    SELECT c0 + floor(:contributions * power(random(), 4))::int, u0 + floor(random() * :users)::int,
        CASE WHEN random() < 0.6 THEN 'pour' ELSE 'contre' END,
        'Bonne idée, à condition de prévoir la formation qui va avec.', now(), 'agent', '01'
    FROM generate_series(1, :comments),
        (SELECT min(id) AS c0 FROM forum_contribution) c,
        (SELECT min(id) AS u0 FROM user_account WHERE is_demo) u""",
    """UPDATE forum_contribution c SET adopt_count = v.a, refuse_count = v.r,
        wilson = CASE WHEN v.a + v.r = 0 THEN 0 ELSE
            ((v.a::float / (v.a + v.r)) + 1.9208 / (v.a + v.r)
             - 1.96 * sqrt(((v.a::float / (v.a + v.r)) * (1 - v.a::float / (v.a + v.r))
                            + 0.9604 / (v.a + v.r)) / (v.a + v.r)))
            / (1 + 3.8416 / (v.a + v.r)) END
    FROM (SELECT contribution_id, count(*) FILTER (WHERE value = 'adopt') AS a,
                 count(*) FILTER (WHERE value = 'refuse') AS r
          FROM forum_vote GROUP BY contribution_id) v WHERE v.contribution_id = c.id""",
    """UPDATE forum_contribution c SET pour_count = m.p, contre_count = m.n, comment_count = m.t
    FROM (SELECT contribution_id, count(*) FILTER (WHERE polarity = 'pour') AS p,
                 count(*) FILTER (WHERE polarity = 'contre') AS n, count(*) AS t
          FROM forum_comment GROUP BY contribution_id) m WHERE m.contribution_id = c.id""",
    "ANALYZE",
]
SQL_SIZES = {
    "egn": {"users": 50_000, "contributions": 6_700, "votes": 30_000, "comments": 20_000},
    "gd": {"users": 500_000, "contributions": 600_000, "votes": 5_000_000, "comments": 1_000_000},
}


def sql_fill(scale: str, fraction: float) -> None:
    """Subprocess entry: migrate, then fill the forums in SQL at ``fraction`` of ``scale``."""
    import time

    from consult import create_app, migrate
    from consult.db import db
    from consult.demo import DEMO_PASSWORD as password
    from consult.security import hash_password
    from consult.territories import load_territories

    sizes = {k: max(1, int(v * fraction)) for k, v in SQL_SIZES[scale].items()}
    app = create_app()
    with app.app_context():
        migrate.upgrade("heads")
        load_territories(db.session)
        db.session.commit()
        params = sizes | {"hash": hash_password(password)}
        for statement in SQL_FILL:
            began = time.perf_counter()
            with db.engine.begin() as conn:
                if statement == "ANALYZE":
                    conn.exec_driver_sql("ANALYZE")
                else:
                    conn.execute(text(statement), params)
            label = " ".join(statement.split()[:3])
            print(f"{label}: {time.perf_counter() - began:.0f} s", flush=True)


def _engine(url: str):
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _count(url: str) -> int:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            exists = conn.scalar(text("SELECT to_regclass('forum_contribution') IS NOT NULL"))
            return conn.scalar(text("SELECT count(*) FROM forum_contribution")) if exists else 0
    finally:
        engine.dispose()


def _pick(url: str) -> dict:
    engine = _engine(url)
    with engine.connect() as conn:
        page = conn.execute(
            text(
                "SELECT id, comment_count FROM forum_contribution "
                "ORDER BY abs(comment_count - 200), id LIMIT 1"
            )
        ).one()
        targets = list(
            conn.scalars(
                text(
                    "SELECT id FROM forum_contribution WHERE hidden_at IS NULL "
                    "ORDER BY md5(id::text) LIMIT 500"
                )
            )
        )
        voters = list(
            conn.scalars(
                text(
                    "SELECT email FROM user_account WHERE is_demo AND email LIKE 'participant%' "
                    "ORDER BY id LIMIT 64"
                )
            )
        )
        counts = dict(
            conn.execute(
                text(
                    "SELECT 'contributions', count(*) FROM forum_contribution UNION ALL "
                    "SELECT 'votes', count(*) FROM forum_vote UNION ALL "
                    "SELECT 'comments', count(*) FROM forum_comment"
                )
            ).all()
        )
    engine.dispose()
    return {"page": page, "targets": targets, "voters": voters, "counts": counts}


def _sessions(base: str, emails: list[str]) -> list[tuple[str, str]]:
    """Log demo voters in; return (cookie header, CSRF token) pairs."""
    import http.cookiejar
    import urllib.request

    sessions = []
    for email in emails:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        # The same User-Agent as the vote requests: "strong" session protection drops a
        # session whose browser changes.
        opener.addheaders = [("User-Agent", USER_AGENT)]
        page = opener.open(base + "/compte/connexion").read().decode()
        token = CSRF_RE.search(page).group(1)
        body = urlencode({"email": email, "password": DEMO_PASSWORD, "csrf_token": token})
        opener.open(base + "/compte/connexion", body.encode()).read()
        page = opener.open(base + "/forums/").read().decode()
        token = CSRF_RE.search(page).group(1) if CSRF_RE.search(page) else token
        cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
        sessions.append((cookie, token))
    return sessions


def _check_counts(url: str, ids: list[int]) -> int:
    """Contributions whose stored counters differ from their vote rows (must be 0)."""
    engine = _engine(url)
    with engine.connect() as conn:
        wrong = conn.scalar(
            text(
                "SELECT count(*) FROM forum_contribution c WHERE c.id = ANY(:ids) AND ("
                "c.adopt_count <> (SELECT count(*) FROM forum_vote v "
                "WHERE v.contribution_id = c.id AND v.value = 'adopt') OR "
                "c.refuse_count <> (SELECT count(*) FROM forum_vote v "
                "WHERE v.contribution_id = c.id AND v.value = 'refuse'))"
            ),
            {"ids": ids},
        )
    engine.dispose()
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=["tiny", "egn", "gd"], default="egn")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--sql-fill",
        action="store_true",
        help="fill an empty PostgreSQL database in SQL (gd in minutes), not the demo generator",
    )
    parser.add_argument(
        "--fraction", type=float, default=1.0, help="share of the scale (--sql-fill)"
    )
    args = parser.parse_args()
    env = {"DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url}
    if args.generate_only:
        if args.sql_fill:
            sql_fill(args.scale, args.fraction)
        else:
            generate(args.scale)
        return

    if _count(args.database_url) == 0:
        seconds, peak = run_measured(
            [
                str(VENV_BIN / "python"),
                "-m",
                "bench.forums_bench",
                "--scale",
                args.scale,
                "--database-url",
                args.database_url,
                "--generate-only",
                *(["--sql-fill", "--fraction", str(args.fraction)] if args.sql_fill else []),
            ],
            env | {"CONSULT_ENV": "development"},
        )
        how = f"SQL fill x{args.fraction}" if args.sql_fill else "demo generator"
        print(f"dataset {args.scale} ({how}): generated in {seconds:.0f} s, peak {peak:.0f} MB")
    picked = _pick(args.database_url)
    print("dataset:", json.dumps(picked["counts"]))
    cid, comments = picked["page"]
    results = []
    with serve(app="bench.hello_app:app", workers=args.workers) as hello:
        baseline = load(hello + "/", args.duration, args.concurrency, label="hello-world")
    results.append(baseline)
    # Plain-HTTP loopback: the session cookie (CSRF, login) must travel without TLS.
    with serve(env=env | {"SESSION_COOKIE_SECURE": "false"}, workers=args.workers) as base:
        for path, label in [
            ("/forums/enseigner-apprendre/?tri=adoption", "theme list, most adopted"),
            (
                "/forums/enseigner-apprendre/?tri=adoption&public=parent&academie=13",
                "theme list, filtered",
            ),
            (f"/forums/contributions/{cid}", f"contribution page ({comments} comments)"),
            ("/forums/recherche?q=ordinateur+familles", "search"),
            ("/api/v1/contributions?theme=enseigner-apprendre&sort=adoption", "API list"),
        ]:
            results.append(load(base + path, args.duration, args.concurrency, label=label))
            print(results[-1].line(), flush=True)
        sessions = _sessions(base, picked["voters"])
        rng = random.Random(7)
        lock = threading.Lock()
        touched: set[int] = set()

        def vote(worker: int, iteration: int):
            cookie, token = sessions[(worker * 7919 + iteration) % len(sessions)]
            with lock:
                target = rng.choice(picked["targets"])
                value = rng.choice(["adopt", "refuse", "adopt", "retract"])
                touched.add(target)
            body = urlencode({"value": value, "csrf_token": token}).encode()
            return (
                "POST",
                f"/forums/contributions/{target}/vote",
                body,
                {
                    "Cookie": cookie,
                    "User-Agent": USER_AGENT,
                    "Accept": "application/json",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )

        results.append(
            load(vote, args.duration, args.concurrency, base=base, label="vote POST (JSON)")
        )
    wrong = _check_counts(args.database_url, sorted(touched))
    for result in results:
        ratio = result.rps / baseline.rps if baseline.rps else 0
        print(f"{result.line()}  ({ratio:.0%} of hello-world)")
    print(f"vote counters checked on {len(touched)} contributions: {wrong} mismatches")
    print(json.dumps([r.as_dict() for r in results]))
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
