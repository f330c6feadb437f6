"""A small hand-made consultation whose syntheses are known, for every synthesis test.

Three académies: Toulouse (16) and Montpellier (11), both in the région académique Occitanie
(76), and Poitiers (13, Nouvelle-Aquitaine 75). ``build_dataset`` returns the objects and the
figures a test can check; ``compile_dataset`` compiles and stores them.

The votes are set up so that:
- ``consensual`` is adopted by > 50 % of Toulouse teachers (10/12), Toulouse parents (9/12) and
  Montpellier teachers (12/12): *consensuelle* nationally, in Occitanie and in Toulouse;
- ``divisive`` is adopted by Toulouse teachers (11/12), refused by Toulouse parents (2/12
  adopt): *clivante*;
- ``too_few`` is adopted by 12 Toulouse teachers and refused by 3 Toulouse students (fewer
  than 10 votes): one audience only, no label;
- ``hidden`` (hidden by a moderator) and ``withdrawn`` carry votes and comments that count
  nowhere;
- ``mover`` is a teacher who voted as a Toulouse member and later commented as a Montpellier
  member: one participant of Occitanie, one of each académie.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from consult.db import db
from consult.models import User
from consult.territorial.models import Idea, IdeaSupport
from forums.models import Comment, Contribution, Vote, wilson_lower_bound
from surveys import engine as survey_engine
from surveys import services as survey_services
from surveys.models import SurveyResponse
from tests.factories import RoleGrantFactory, UserFactory
from tests.forums_factories import theme
from tests.retex_factories import make_sheet

TOULOUSE, MONTPELLIER, POITIERS = "16", "11", "13"
OCCITANIE, NOUVELLE_AQUITAINE = "76", "75"
DAY = datetime(2020, 11, 3, 10, 0)


@dataclass
class Dataset:
    users: dict[str, list[User]] = field(default_factory=dict)
    mover: User | None = None
    contributions: dict[str, Contribution] = field(default_factory=dict)
    ideas: list[Idea] = field(default_factory=list)
    sheets: list[Any] = field(default_factory=list)
    questionnaire: Any = None
    analyst: User | None = None
    # Expected figures, keyed like the tables: see the tests.
    expected: dict[str, Any] = field(default_factory=dict)


def _users(name: str, count: int, audience: str, academie: str) -> list[User]:
    return [
        UserFactory(
            pseudonym=f"{name}<b>{i}",
            email=f"{name}{i}@synthese.test",
            audience=audience,
            academie_code=academie,
            school_level="college" if audience == "eleve" else None,
        )
        for i in range(count)
    ]


def _contribution(
    author: User, title: str, slug: str = "enseigner-apprendre", **kw
) -> Contribution:
    found = theme(slug)
    contribution = Contribution(
        author=author,
        theme=found,
        subtheme=found.subthemes[0],
        title=title,
        body=f"{title} : le corps de la proposition, joignable à test@exemple.fr.",
        excerpt=title,
        created_at=DAY,
        **Contribution.snapshot_of(author),
        **kw,
    )
    db.session.add(contribution)
    db.session.flush()
    return contribution


def _vote(contribution: Contribution, user: User, adopt: bool, academie: str | None = None) -> None:
    db.session.add(
        Vote(
            contribution_id=contribution.id,
            user_id=user.id,
            value="adopt" if adopt else "refuse",
            author_audience=user.audience,
            author_academie_code=academie or user.academie_code,
            created_at=DAY + timedelta(days=1),
            updated_at=DAY + timedelta(days=1),
        )
    )


def _votes(contribution: Contribution, users: list[User], adopting: int) -> None:
    for i, user in enumerate(users):
        _vote(contribution, user, i < adopting)


def _comment(
    contribution: Contribution, user: User, polarity: str, academie: str | None = None, **kw
) -> Comment:
    comment = Comment(
        contribution_id=contribution.id,
        author_id=user.id,
        polarity=polarity,
        body=f"Commentaire {polarity} <script>x</script>, appelez le 06 12 34 56 78.",
        author_audience=user.audience,
        author_academie_code=academie or user.academie_code,
        created_at=DAY + timedelta(days=2),
        **kw,
    )
    db.session.add(comment)
    return comment


def _responses(questionnaire: Any, users: list[User], answers: list[dict]) -> None:
    for user, answer in zip(users, answers, strict=True):
        db.session.add(
            SurveyResponse(
                questionnaire_id=questionnaire.id,
                answers=answer,
                submitted_at=DAY + timedelta(days=3),
                **SurveyResponse.snapshot_of(user),
            )
        )


def build_dataset(session=None) -> Dataset:
    session = session or db.session
    data = Dataset()
    t_prof = _users("tprof", 12, "professeur", TOULOUSE)
    t_parent = _users("tparent", 12, "parent", TOULOUSE)
    t_eleve = _users("televe", 3, "eleve", TOULOUSE)
    m_prof = _users("mprof", 12, "professeur", MONTPELLIER)
    m_parent = _users("mparent", 4, "parent", MONTPELLIER)
    p_enc = _users("penc", 5, "encadrement", POITIERS)
    p_agent = _users("pagent", 2, "agent", POITIERS)
    mover = UserFactory(
        pseudonym="Nomade<b>",
        email="nomade@synthese.test",
        audience="professeur",
        academie_code=MONTPELLIER,
    )
    data.users = {
        "t_prof": t_prof,
        "t_parent": t_parent,
        "t_eleve": t_eleve,
        "m_prof": m_prof,
        "m_parent": m_parent,
        "p_enc": p_enc,
        "p_agent": p_agent,
    }
    data.mover = mover
    admin = UserFactory(pseudonym="Admin<b>", email="admin@synthese.test", academie_code=TOULOUSE)
    RoleGrantFactory(user=admin, role="admin")
    analyst = UserFactory(pseudonym="Analyste<b>", email="analyste@synthese.test")
    RoleGrantFactory(user=analyst, role="analyst")
    session.refresh(admin)
    session.refresh(analyst)
    data.analyst = analyst

    c = data.contributions
    c["consensual"] = _contribution(t_prof[0], "Former <b>tous</b> les enseignants")
    c["divisive"] = _contribution(t_prof[1], "Interdire les téléphones")
    c["too_few"] = _contribution(m_prof[0], "Des tablettes pour tous")
    c["hidden"] = _contribution(t_parent[0], "Contenu masqué", hidden_at=DAY, hidden_reason="x")
    c["withdrawn"] = _contribution(t_parent[1], "Retirée", withdrawn_at=DAY)
    c["other_theme"] = _contribution(p_enc[0], "Réseau souverain", slug=theme_slug(3))

    _votes(c["consensual"], t_prof, 10)
    _votes(c["consensual"], t_parent, 9)
    _votes(c["consensual"], m_prof, 12)
    _votes(c["divisive"], t_prof, 11)
    _votes(c["divisive"], t_parent, 2)
    _votes(c["too_few"], t_prof, 12)
    _votes(c["too_few"], t_eleve, 0)
    _vote(c["too_few"], mover, True, academie=TOULOUSE)
    _votes(c["hidden"], t_prof, 12)
    _votes(c["withdrawn"], m_prof, 5)
    for user in t_parent[:3]:
        _comment(c["consensual"], user, "pour")
    _comment(c["consensual"], m_prof[1], "contre")
    _comment(c["consensual"], t_parent[0], "pour")  # a second comment by the same person
    _comment(c["consensual"], m_prof[2], "contre", hidden_at=DAY, hidden_reason="x")
    _comment(c["divisive"], t_parent[5], "contre")
    _comment(c["divisive"], mover, "contre", academie=MONTPELLIER)
    _comment(c["hidden"], t_prof[3], "pour")
    session.flush()
    for contribution in c.values():
        votes = session.query(Vote).filter_by(contribution_id=contribution.id).all()
        comments = (
            session.query(Comment).filter_by(contribution_id=contribution.id, hidden_at=None).all()
        )
        contribution.adopt_count = sum(v.value == "adopt" for v in votes)
        contribution.refuse_count = sum(v.value == "refuse" for v in votes)
        contribution.pour_count = sum(m.polarity == "pour" for m in comments)
        contribution.contre_count = sum(m.polarity == "contre" for m in comments)
        contribution.comment_count = len(comments)
        contribution.wilson = wilson_lower_bound(
            contribution.adopt_count, contribution.refuse_count
        )

    ideas = [
        Idea(
            academie_code=TOULOUSE,
            author_id=t_parent[i].id,
            title=f"Idée <i>{i}</i>",
            body="Des ordinateurs pour les familles.",
            created_at=DAY,
            **Idea.snapshot_of(t_parent[i]),
        )
        for i in range(2)
    ]
    ideas.append(
        Idea(
            academie_code=TOULOUSE,
            author_id=t_parent[2].id,
            title="Idée masquée",
            body="x",
            created_at=DAY,
            hidden_at=DAY,
            **Idea.snapshot_of(t_parent[2]),
        )
    )
    session.add_all(ideas)
    session.flush()
    for user in t_eleve:
        session.add(
            IdeaSupport(
                idea_id=ideas[0].id,
                user_id=user.id,
                created_at=DAY,
                **IdeaSupport.snapshot_of(user),
            )
        )
    data.ideas = ideas

    data.sheets = [
        make_sheet(
            t_prof[4], "published", reviewer=admin, themes=["1", "2"], audiences=["eleve", "parent"]
        ),
        make_sheet(
            p_enc[1],
            "published",
            reviewer=admin,
            territory="academie:13",
            themes=["2"],
            audiences=["professeur"],
            school_level="lycee",
        ),
        make_sheet(t_prof[5], "draft"),
    ]

    questionnaire = survey_services.current_questionnaire(session)
    if questionnaire is None:
        questionnaire, _changed = survey_services.load_definition(
            session, survey_engine.load_file(survey_engine.default_path())
        )
    data.questionnaire = questionnaire
    # 12 Toulouse teachers: C01 urbain ×9 / rural ×3; C05 (multiple) ordinateur + smartphone
    # ×6, tablette ×6; C06 (number, only with a computer) 2; C02 (scale) 4.
    _responses(
        questionnaire,
        t_prof,
        [
            {"C01": "urbain", "C02": 4, "C05": ["ordinateur", "smartphone"], "C06": 2}
            if i < 6
            else {"C01": "urbain" if i < 9 else "rural", "C02": 4, "C05": ["tablette"]}
            for i in range(12)
        ],
    )
    # 11 Montpellier teachers: urbain, ordinateur, 3 computers, scale 5, an open answer.
    _responses(
        questionnaire,
        m_prof[:11],
        [
            {
                "C01": "urbain",
                "C02": 5,
                "C05": ["ordinateur"],
                "C06": 3,
                "T15": f"Réponse ouverte {i}, écrivez-moi à moi{i}@exemple.fr, "
                '"citée" avec \\ barre,\tune tabulation et\nun retour',
            }
            for i in range(11)
        ],
    )
    session.flush()
    data.expected = _expected(data)
    return data


def theme_slug(position: int) -> str:
    from sqlalchemy import select

    from forums.models import Theme

    return db.session.scalar(select(Theme.slug).where(Theme.position == position))


def _expected(data: Dataset) -> dict[str, Any]:
    """The figures a test can check, computed by hand from the set-up above."""
    return {
        # Contributions counted: consensual, divisive, too_few, other_theme.
        "contributions": 4,
        # Votes on visible contributions: 12+12+12 + 12+12 + 12+3+1 = 76.
        "votes": 76,
        # Visible comments on visible contributions: 3+1+1 on consensual, 2 on divisive.
        "comments": 7,
        "ideas": 2,
        "idea_supports": 3,
        "retex_sheets": 2,
        "survey_responses": 23,
    }


def compile_dataset(session=None, **kw):
    """Compile and store every scope; returns the Compilation."""
    from synthesis import engine

    return engine.compile_all(session or db.session, **kw)
