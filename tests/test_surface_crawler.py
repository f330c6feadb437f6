"""The whole surface, attacked per role: every GET route of ``app.url_map`` (pages, API, feeds,
exports, search), its URL parameters filled with seeded ids, slugs and codes, visited as each
role. Content in every non-public state carries a unique marker in its text; no marker and no
email address may appear where the role may not read it, and no response may be a 500.

A new route with a parameter the crawler cannot fill fails with "route not covered": add its
values to ``_candidates`` (or, for a route that must not be crawled, to ``SKIPPED`` with why)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

import pytest
from flask import Flask

from consult.db import utcnow
from consult.models import User
from consult.territories import catalog
from tests.factories import RoleGrantFactory, UserFactory
from tests.forums_factories import CommentFactory, ContributionFactory, theme
from tests.retex_factories import make_sheet
from tests.territorial_factories import EventFactory, IdeaFactory, NewsFactory

HOME = "16"  # the owner's académie (Toulouse)
ELSEWHERE = "13"  # Poitiers: the coordinator of another académie
PDF = b"%PDF-1.4\n%%EOF\n"

SKIPPED = {
    # A static file's name is not data: nothing seeded can appear in one.
    "static": "fichiers statiques",
    # plotly.js, served as is: megabytes of library, no data.
    "surveys.plotly_js": "bibliothèque servie telle quelle",
}
# Routes that search are also visited with the markers as search terms.
SEARCH_ARGS = ("q", "titre", "recherche")
SEARCHING = {
    "forums.search",
    "forums.similar",
    "forums_api.contributions",
    "retex.index",
    "retex_api.index",
    "territories_api.ideas",
}
MAX_COMBINATIONS = 12


@dataclass
class Seed:
    owner: User
    markers: dict[str, str] = field(default_factory=dict)  # marker -> family
    ids: dict[str, list[int]] = field(default_factory=dict)
    report_targets: list[tuple[str, int]] = field(default_factory=list)
    emails: dict[int, str] = field(default_factory=dict)
    users: dict[str, User | None] = field(default_factory=dict)


def _marker(seed: Seed, family: str, name: str) -> str:
    marker = f"ZQ{name.upper()}MARK"
    seed.markers[marker] = family
    return marker


def _seed(session) -> Seed:
    owner = UserFactory(academie_code=HOME, pseudonym="Auteur du crawler")
    seed = Seed(owner=owner)
    forum, idea_family, retex = "forum", "idea", "retex"

    public = ContributionFactory(author=owner, title="Contribution publique du crawler")
    held = ContributionFactory(
        author=owner,
        held_for_review=True,
        title=_marker(seed, forum, "heldcontrib"),
        body=_marker(seed, forum, "heldbody"),
        excerpt="",
    )
    hidden = ContributionFactory(
        author=owner,
        hidden_at=utcnow(),
        hidden_reason="masquée",
        title=_marker(seed, forum, "hiddencontrib"),
        body=_marker(seed, forum, "hiddenbody"),
        excerpt="",
    )
    withdrawn = ContributionFactory(
        author=owner,
        withdrawn_at=utcnow(),
        title=_marker(seed, forum, "withdrawncontrib"),
        body=_marker(seed, forum, "withdrawnbody"),
        excerpt="",
    )
    seed.ids["contribution"] = [public.id, held.id, hidden.id, withdrawn.id]
    comments = [
        CommentFactory(contribution=public, author=owner, body=_marker(seed, forum, "heldcomment")),
        CommentFactory(
            contribution=public, author=owner, body=_marker(seed, forum, "hiddencomment")
        ),
        CommentFactory(
            contribution=withdrawn, author=owner, body=_marker(seed, forum, "orphancomment")
        ),
    ]
    comments[0].held_for_review = True
    comments[1].hidden_at = utcnow()

    ideas = [
        IdeaFactory(author=owner, title="Idée publique du crawler"),
        IdeaFactory(
            author=owner,
            held_for_review=True,
            title=_marker(seed, idea_family, "heldidea"),
            body=_marker(seed, idea_family, "heldideabody"),
        ),
        IdeaFactory(
            author=owner,
            hidden_at=utcnow(),
            title=_marker(seed, idea_family, "hiddenidea"),
            body=_marker(seed, idea_family, "hiddenideabody"),
        ),
    ]
    seed.ids["idea"] = [i.id for i in ideas]

    reviewer = RoleGrantFactory(
        role="coordinator", scope_kind="academie", scope_code=HOME, user__academie_code=HOME
    ).user
    territory = f"academie:{HOME}"
    sheets = [
        make_sheet(owner, "published", reviewer=reviewer, territory=territory),
        make_sheet(
            owner,
            "draft",
            territory=territory,
            title=_marker(seed, retex, "draftsheet"),
            context=_marker(seed, retex, "draftcontext"),
        ),
        make_sheet(
            owner,
            "submitted",
            territory=territory,
            title=_marker(seed, retex, "submittedsheet"),
        ),
        make_sheet(
            owner,
            "returned",
            reviewer=reviewer,
            territory=territory,
            title=_marker(seed, retex, "returnedsheet"),
        ),
    ]
    seed.ids["sheet"] = [s.id for s in sheets]
    from retex.models import RetexAttachment

    attachment = RetexAttachment(
        sheet=sheets[1],
        stored_name="c" * 32,
        filename=_marker(seed, retex, "draftfile") + ".pdf",
        label=_marker(seed, retex, "draftlabel"),
        content_type="application/pdf",
        size=len(PDF),
        sha256="0" * 64,
    )
    session.add(attachment)
    session.flush()
    seed.ids["attachment"] = [attachment.id]

    # Working drafts of syntheses: their composers' only (national: analysts; a territory's:
    # its coordination).
    from synthesis import results

    analyst = RoleGrantFactory(role="analyst").user
    for info, name in (
        (results.scope("national"), "nationaldraft"),
        (results.scope("academie", HOME), "academiedraft"),
    ):
        draft = results.start_draft(session, info, analyst if name == "nationaldraft" else reviewer)
        draft.title = _marker(seed, name, name)
        draft.introduction = _marker(seed, name, name + "intro")
    session.flush()

    seed.ids["event"] = [EventFactory().id]
    seed.ids["news"] = [NewsFactory().id]
    seed.report_targets = (
        [("contribution", i) for i in seed.ids["contribution"]]
        + [("comment", c.id) for c in comments]
        + [("idea", i) for i in seed.ids["idea"]]
    )
    # Every account's email is private: only its owner may ever read it.
    seed.users = {
        "anonymous": None,
        "participant": UserFactory(academie_code=HOME),
        "blocked": UserFactory(
            academie_code=HOME, blocked_at=utcnow(), blocked_reason="bloqué par le crawler"
        ),
        "author": owner,
        "moderator": RoleGrantFactory(role="moderator").user,
        "coordinator_elsewhere": RoleGrantFactory(
            role="coordinator",
            scope_kind="academie",
            scope_code=ELSEWHERE,
            user__academie_code=ELSEWHERE,
        ).user,
        "analyst": analyst,
    }
    for user in [*seed.users.values(), reviewer]:
        if user is not None:
            seed.emails[user.id] = user.email
    # The owner's notifications: one names their own held contribution (a marker only they and
    # moderators may read); nobody else's notifications page may ever show it.
    from consult.notifications.models import Follow, Notification

    for subject in (public, held):
        session.add(
            Notification(
                user_id=owner.id,
                event="new_contribution",
                subject_kind="contribution",
                subject_id=subject.id,
            )
        )
    session.add(Follow(user_id=owner.id, kind="contribution", key=str(held.id)))
    session.flush()
    return seed


# What each role may read beyond public content: families of markers.
ALLOWED = {
    "anonymous": set(),
    "participant": set(),
    "blocked": set(),
    "author": {"forum", "idea", "retex"},
    "moderator": {"forum", "idea"},
    "coordinator_elsewhere": set(),
    "analyst": {"nationaldraft"},
}


def _candidates(app: Flask, seed: Seed, endpoint: str, name: str) -> list[str] | None:
    """Values for one URL parameter of one endpoint; None when the crawler does not know it."""
    acad = catalog().academies[HOME]
    region = catalog().regions[acad.region_code]
    by_name: dict[str, list] = {
        "contribution_id": seed.ids["contribution"],
        "idea_id": seed.ids["idea"],
        "sheet_id": seed.ids["sheet"],
        "attachment_id": seed.ids["attachment"],
        "event_id": seed.ids["event"],
        "news_id": seed.ids["news"],
        "batch_id": [1],
        "number": [1],
        "version": [1, 2],
        "token": ["jeton-invalide"],
        "table": ["forum_top", "topics", "participation"],
        "name": ["participation"],
        "key": ["nationale", f"academie-{HOME}"],
        "filename": ["absent.css"],
        "user_id": [seed.owner.id],
    }
    if name in by_name:
        return [str(v) for v in by_name[name]]
    if name == "slug":
        if endpoint.startswith("profiles."):
            return [u.pseudonym for u in seed.users.values() if u is not None]
        if endpoint.startswith("forums."):
            return [theme().slug]
        if "region" in endpoint:
            return [region.slug]
        return [acad.slug, region.slug, "nationale"]
    if name == "code":
        if "region" in endpoint:
            return [region.code]
        return [HOME, "question-inconnue"]
    if name == "fmt":
        return ["csv", "json"]
    if name == "kind":
        return ["academie", "region"]
    if name == "ident":
        return [HOME, region.code]
    return None


def _urls(app: Flask, seed: Seed) -> tuple[list[str], list[str]]:
    urls: list[str] = []
    uncovered: list[str] = []
    adapter = app.url_map.bind("localhost")
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in SKIPPED:
            continue
        names = sorted(rule.arguments - set(rule.defaults or {}))
        if rule.endpoint == "moderation.report":
            for kind, target in seed.report_targets:
                urls.append(adapter.build(rule.endpoint, {"kind": kind, "target_id": target}))
            continue
        values = {n: _candidates(app, seed, rule.endpoint, n) for n in names}
        missing = [n for n, v in values.items() if v is None]
        if missing:
            uncovered.append(f"{rule.rule} ({', '.join(missing)})")
            continue
        combos = itertools.islice(itertools.product(*(values[n] for n in names)), MAX_COMBINATIONS)
        for combo in combos:
            params = dict(zip(names, combo, strict=True)) | dict(rule.defaults or {})
            try:
                url = adapter.build(rule.endpoint, params)
            except Exception:  # noqa: S112 - a value the converter refuses: try the next one
                continue
            urls.append(url)
            if rule.endpoint in SEARCHING:
                terms = " ".join(seed.markers)
                urls.append(url + "?" + "&".join(f"{a}={terms}" for a in SEARCH_ARGS))
    return urls, uncovered


ROLES = list(ALLOWED)


@pytest.mark.parametrize("role", ROLES)
def test_no_role_reads_what_it_may_not(app, client, session, role) -> None:
    seed = _seed(session)
    urls, uncovered = _urls(app, seed)
    assert not uncovered, "route not covered: " + "; ".join(uncovered)
    user = seed.users[role]
    if user is not None:
        client.login(user.email)
    forbidden = {m for m, family in seed.markers.items() if family not in ALLOWED[role]}
    forbidden_emails = {e for uid, e in seed.emails.items() if user is None or uid != user.id}
    errors: list[str] = []
    leaks: list[str] = []
    terms = " ".join(seed.markers)
    # The search terms a page prints back (its search box, a login link's next=) are the
    # visitor's own words, not a leak.
    # (whole or cut to a search box's length).
    said = {terms, terms[:200], terms[:100]}
    echoes = sorted(
        {form for t in said for form in (t, quote(t), quote_plus(t), quote(quote(t)))}, key=len
    )[::-1]
    for url in dict.fromkeys(urls):
        response = client.get(url)
        if response.status_code >= 500:
            errors.append(f"{response.status_code} {url}")
            continue
        text = response.get_data().decode("utf-8", "replace") + str(response.headers)
        for echo in echoes:
            text = text.replace(echo, "")
        found = [m for m in forbidden if m in text]
        found += [e for e in forbidden_emails if e in text]
        if found:
            leaks.append(f"{url.split('?')[0]}{'?…' if '?' in url else ''}: {sorted(found)}")
    assert not errors, "server errors: " + "; ".join(errors)
    assert not leaks, f"{role} reads: " + "; ".join(leaks)
    assert len(urls) > 100  # the crawl reached the whole surface


def test_the_crawler_sees_what_a_role_may_see(app, client, session) -> None:
    """The check can fail: the author does read their own held contribution and draft."""
    seed = _seed(session)
    client.login(seed.owner.email)
    held, draft = seed.ids["contribution"][1], seed.ids["sheet"][1]
    assert "ZQHELDCONTRIBMARK" in client.get(f"/forums/contributions/{held}").get_data(as_text=True)
    assert "ZQDRAFTSHEETMARK" in client.get(f"/retex/{draft}/suivi").get_data(as_text=True)
    client.logout()
    client.login(seed.users["analyst"].email)
    page = client.get("/resultats/composer/nationale/").get_data(as_text=True)
    assert "ZQNATIONALDRAFTMARK" in page
