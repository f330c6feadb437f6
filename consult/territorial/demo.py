"""Demo data: ideas with supports and statuses, events and news in every académie, and the
national days in Poitiers (4–5 November 2020)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from consult.db import utcnow
from consult.models import Audience, Role, RoleGrant, User
from consult.territorial.models import (
    Event,
    EventRegistration,
    Idea,
    IdeaStatus,
    IdeaSupport,
    NewsItem,
)
from consult.territories import academie_label, catalog

CHUNK = 5_000
# Ideas per académie and how many supports they gather, per scale.
IDEAS_PER_ACADEMIE = {"tiny": 6, "egn": 60, "gd": 400}
EVENTS_PER_ACADEMIE = {"tiny": 2, "egn": 6, "gd": 10}
NEWS_PER_ACADEMIE = {"tiny": 2, "egn": 4, "gd": 4}

IDEA_SUBJECTS = [
    "Prêter des ordinateurs aux familles qui n'en ont pas",
    "Former les parents à l'environnement numérique de travail",
    "Un référent numérique dans chaque école",
    "Des tablettes partagées pour les classes de primaire",
    "Ouvrir les salles informatiques le mercredi après-midi",
    "Un guide unique des outils de visioconférence",
    "Des clés 4G pour les élèves des zones blanches",
    "Créer un atelier de réparation d'ordinateurs au lycée",
    "Partager les ressources pédagogiques entre établissements",
    "Un temps de déconnexion le soir pour les élèves et les professeurs",
    "Former les agents aux logiciels libres",
    "Des podcasts faits par les élèves pour réviser",
    "Une messagerie unique entre l'école et les familles",
    "Des cours d'éducation aux médias dès le collège",
    "Recycler le matériel informatique des administrations",
    "Des tiers-lieux numériques dans les communes rurales",
]
IDEA_DETAILS = [
    "Pendant le confinement, plusieurs familles n'avaient qu'un téléphone pour trois enfants.",
    "Dans notre établissement, beaucoup de parents ne savaient pas où trouver les devoirs.",
    "Les professeurs ont passé des heures à chercher l'outil qui marchait pour tout le monde.",
    "Les élèves les plus fragiles ont décroché faute de connexion correcte.",
    "Les agents ont été sollicités pour dépanner sans avoir été formés.",
    "Une initiative locale a très bien fonctionné et pourrait être généralisée.",
]
IDEA_ASKS = [
    "Il faudrait que l'académie organise cela dès la rentrée prochaine.",
    "Un financement partagé avec les collectivités semble possible.",
    "Cela demanderait peu de moyens mais un vrai pilotage.",
    "Nous proposons de commencer par quelques établissements volontaires.",
]
ANSWERS = {
    IdeaStatus.A_L_ETUDE: "Merci pour cette proposition : le groupe de travail académique "
    "l'étudie et vous répondra avant la fin du trimestre.",
    IdeaStatus.RETENUE: "Cette idée est retenue : elle sera mise en œuvre à partir de la "
    "rentrée dans les établissements volontaires de l'académie.",
    IdeaStatus.NON_RETENUE: "Cette idée n'est pas retenue pour le moment : un dispositif "
    "national couvre déjà ce besoin, nous vous invitons à le consulter.",
    IdeaStatus.REALISEE: "C'est fait : le dispositif fonctionne depuis la rentrée et un premier "
    "bilan sera publié dans les actualités de l'académie.",
}
EVENT_KINDS = [
    (
        "Atelier participatif",
        "Venez partager vos expériences de l'enseignement à distance et "
        "construire ensemble des propositions pour l'académie.",
    ),
    (
        "Table ronde des acteurs du numérique éducatif",
        "Collectivités, associations et équipes "
        "pédagogiques échangent sur l'équipement des élèves et la continuité pédagogique.",
    ),
    (
        "Webinaire : ce que le confinement nous a appris",
        "Une heure pour revenir sur les "
        "pratiques qui ont fonctionné au printemps 2020 et celles qu'il faut revoir.",
    ),
    (
        "Rencontre parents-enseignants",
        "Un temps d'échange sur les outils de communication entre l'école et les familles.",
    ),
]
NEWS_TOPICS = [
    (
        "Lancement des États généraux dans l'académie",
        "Les **États généraux du numérique pour "
        "l'éducation** s'ouvrent dans l'académie : élèves, parents, professeurs, personnels "
        "d'encadrement et agents sont invités à participer aux ateliers et aux forums.",
    ),
    (
        "Premier bilan des ateliers",
        "Plus d'une centaine de personnes ont participé aux premiers "
        "ateliers. Les propositions sont rassemblées dans la boîte à idées de l'académie.",
    ),
    (
        "Les idées retenues par l'académie",
        "Le comité de pilotage a examiné les idées les plus "
        "soutenues : plusieurs sont *retenues* et seront mises en œuvre dès la rentrée.",
    ),
    (
        "Appel à retours d'expérience",
        "Vous avez mené un projet numérique pendant le confinement ? "
        "Partagez-le sous forme de fiche Retex pour que d'autres puissent s'en inspirer.",
    ),
]


def _users_by_academie(session: Session) -> dict[str, list[tuple[int, str]]]:
    rows = session.execute(
        select(User.id, User.academie_code, User.audience).where(
            User.is_demo.is_(True), User.deleted_at.is_(None), User.academie_code.is_not(None)
        )
    )
    grouped: dict[str, list[tuple[int, str]]] = {}
    for uid, code, audience in rows:
        grouped.setdefault(code, []).append((uid, audience))
    return grouped


def _coordinators(session: Session) -> dict[str, int]:
    """The first coordinator covering each académie (or an admin), as author of news."""
    cat = catalog()
    found: dict[str, int] = {}
    for user_id, kind, code in session.execute(
        select(RoleGrant.user_id, RoleGrant.scope_kind, RoleGrant.scope_code).where(
            RoleGrant.role == Role.COORDINATOR
        )
    ):
        codes = cat.regions[code].academie_codes if kind == "region" else (code,)
        for acad in codes:
            found.setdefault(acad, user_id)
    return found


def generate(session: Session, scale: str, rng: random.Random, progress: Callable) -> None:
    if session.scalar(select(func.count()).select_from(Idea)):
        return  # already generated: the demo is reproducible, not cumulative
    cat = catalog()
    users = _users_by_academie(session)
    coordinators = _coordinators(session)
    admin_id = session.scalar(
        select(RoleGrant.user_id).where(RoleGrant.role == Role.ADMIN).limit(1)
    )
    now = utcnow()
    academies = cat.academies_sorted()
    _ideas(session, scale, rng, progress, users, coordinators, admin_id, now)
    _events(session, scale, rng, progress, academies, users, coordinators, admin_id, now)
    _news(session, scale, rng, academies, coordinators, admin_id, now)


def _ideas(session, scale, rng, progress, users, coordinators, admin_id, now) -> None:
    per_acad = IDEAS_PER_ACADEMIE[scale]
    codes = sorted(users)
    with progress("Boîte à idées", len(codes)) as bar:
        for code in codes:
            people = users[code]
            # Participants post ideas roughly in proportion to the académie's size.
            count = max(2, min(per_acad, len(people) // 3))
            rows = []
            for _ in range(count):
                author_id, audience = rng.choice(people)
                subject = rng.choice(IDEA_SUBJECTS)
                body = " ".join(
                    [rng.choice(IDEA_DETAILS), rng.choice(IDEA_DETAILS), rng.choice(IDEA_ASKS)]
                )
                created = now - timedelta(days=rng.randint(5, 180), minutes=rng.randint(0, 1440))
                status = rng.choices([None, *IdeaStatus], weights=[50, 20, 12, 10, 8])[0]
                rows.append(
                    {
                        "academie_code": code,
                        "author_id": author_id,
                        "author_audience": audience,
                        "author_academie_code": code,
                        "title": subject,
                        "body": body,
                        "support_count": 0,
                        "status": status.value if status else None,
                        "answer": ANSWERS[status] if status else None,
                        "answered_at": created + timedelta(days=rng.randint(1, 4))
                        if status
                        else None,
                        "answered_by_id": coordinators.get(code, admin_id) if status else None,
                        "created_at": created,
                        "held_for_review": False,
                        "report_count": 0,
                    }
                )
            session.execute(insert(Idea), rows)
            idea_ids = session.scalars(
                select(Idea.id).where(Idea.academie_code == code).order_by(Idea.id)
            ).all()
            authors = dict(
                session.execute(
                    select(Idea.id, Idea.author_id).where(Idea.academie_code == code)
                ).all()
            )
            supports = []
            for idea_id in idea_ids:
                # Skewed popularity: a few ideas gather most supports.
                wanted = min(int(rng.paretovariate(1.3) * 2), len(people) - 1)
                for supporter_id, audience in rng.sample(people, wanted):
                    if supporter_id == authors[idea_id]:
                        continue
                    supports.append(
                        {
                            "idea_id": idea_id,
                            "user_id": supporter_id,
                            "author_audience": audience,
                            "author_academie_code": code,
                            "created_at": now - timedelta(days=rng.randint(0, 4)),
                        }
                    )
            for start in range(0, len(supports), CHUNK):
                session.execute(insert(IdeaSupport), supports[start : start + CHUNK])
            counts = select(func.count()).where(IdeaSupport.idea_id == Idea.id).scalar_subquery()
            session.execute(
                update(Idea).where(Idea.academie_code == code).values(support_count=counts),
                execution_options={"synchronize_session": False},
            )
            session.commit()
            bar.update(1)


def _event_row(
    scope_kind,
    scope_code,
    title,
    description,
    start,
    hours,
    place,
    online,
    audiences,
    capacity,
    registration_url,
    author_id,
    now,
) -> dict:
    return {
        "scope_kind": scope_kind,
        "scope_code": scope_code,
        "title": title,
        "description": description,
        "starts_at": start,
        "ends_at": start + timedelta(hours=hours),
        "place": place,
        "online_url": online,
        "audiences": audiences,
        "registration_url": registration_url,
        "capacity": capacity,
        "registered_count": 0,
        "created_by_id": author_id,
        "created_at": now,
        "updated_at": now,
    }


def _events(session, scale, rng, progress, academies, users, coordinators, admin_id, now):
    rows = [
        _event_row(
            "national",
            "",
            "Journées nationales des États généraux du numérique pour l'éducation",
            "Deux journées à Poitiers pour restituer les travaux des territoires et des forums, "
            "avec les 40 propositions issues de la consultation.",
            datetime(2020, 11, 4, 8, 0),
            33,
            "Poitiers — Futuroscope",
            "https://www.education.gouv.fr/etats-generaux-du-numerique",
            [a.value for a in Audience],
            None,
            None,
            admin_id,
            now,
        )
    ]
    per_acad = EVENTS_PER_ACADEMIE[scale]
    for acad in academies:
        for i in range(per_acad):
            title, description = rng.choice(EVENT_KINDS)
            online = title.startswith("Webinaire")
            start = (now + timedelta(days=rng.randint(-60, 120))).replace(
                hour=rng.choice([9, 14, 17, 18]), minute=0, second=0, microsecond=0
            )
            rows.append(
                _event_row(
                    "academie",
                    acad.code,
                    f"{title} — {academie_label(acad.name, capital=False)}",
                    description,
                    start,
                    rng.choice([1, 2, 3]),
                    None if online else f"Rectorat de l’{academie_label(acad.name, capital=False)}",
                    "https://visio.education.fr/" + acad.slug if online else None,
                    rng.sample([a.value for a in Audience if a is not Audience.AUTRE], 3),
                    rng.choice([30, 50, 80]) if i % 2 == 0 else None,
                    None,
                    coordinators.get(acad.code, admin_id),
                    now,
                )
            )
    session.execute(insert(Event), rows)
    session.commit()
    # Registrations to upcoming events with in-platform capacity.
    open_events = session.execute(
        select(Event.id, Event.scope_code, Event.capacity).where(
            Event.capacity.is_not(None), Event.starts_at > now
        )
    ).all()
    regs = []
    with progress("Inscriptions aux événements", len(open_events)) as bar:
        for event_id, code, capacity in open_events:
            people = users.get(code, [])
            taken = rng.sample(people, min(len(people), rng.randint(0, capacity)))
            for user_id, audience in taken:
                regs.append(
                    {
                        "event_id": event_id,
                        "user_id": user_id,
                        "author_audience": audience,
                        "author_academie_code": code,
                        "created_at": now,
                    }
                )
            bar.update(1)
    for start in range(0, len(regs), CHUNK):
        session.execute(insert(EventRegistration), regs[start : start + CHUNK])
    counts = select(func.count()).where(EventRegistration.event_id == Event.id).scalar_subquery()
    session.execute(
        update(Event).where(Event.capacity.is_not(None)).values(registered_count=counts),
        execution_options={"synchronize_session": False},
    )
    session.commit()


def _news(session, scale, rng, academies, coordinators, admin_id, now) -> None:
    rows = []
    for acad in academies:
        wanted = min(NEWS_PER_ACADEMIE[scale], len(NEWS_TOPICS))
        for i, (title, body) in enumerate(rng.sample(NEWS_TOPICS, wanted)):
            when = now - timedelta(days=rng.randint(1, 150), hours=i)
            rows.append(
                {
                    "scope_kind": "academie",
                    "scope_code": acad.code,
                    "title": f"{title} ({acad.name})",
                    "body": body,
                    "author_id": coordinators.get(acad.code, admin_id),
                    "published_at": when,
                    "updated_at": when,
                }
            )
    session.execute(insert(NewsItem), rows)
    session.commit()
