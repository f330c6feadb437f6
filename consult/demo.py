"""Reproducible demo data: ``flask --app app demo --scale tiny|egn|gd``.

The core step creates accounts spread over audiences and académies like a real national
consultation; feature packages add their own steps through ``hooks().demo_steps``, run in
registration order with the same seeded random generator.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from flask import current_app
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from consult.db import db, utcnow
from consult.hooks import hooks
from consult.models import Audience, OtherActorKind, SchoolLevel, User
from consult.security import fold, hash_password
from consult.territories import catalog, load_territories

SCALES = {"tiny": 200, "egn": 50_000, "gd": 500_000}
CHUNK = 5_000
# Shared by the generated demo accounts; the demo command refuses to run in production.
DEMO_PASSWORD = "demo-consult-2020"  # noqa: S105
DEMO_EMAIL_DOMAIN = "consult.test"  # RFC 2606 reserved: never a real mailbox

# Shares of each audience among participants (teachers and parents answer most in such
# consultations; management staff and agents are few).
AUDIENCE_WEIGHTS = {
    Audience.ELEVE: 24,
    Audience.PARENT: 31,
    Audience.PROFESSEUR: 30,
    Audience.ENCADREMENT: 6,
    Audience.AGENT: 5,
    Audience.AUTRE: 4,
}
# Approximate school population per académie (thousands of pupils, 2020), used as weights.
ACADEMIE_WEIGHTS = {
    "01": 360,
    "02": 580,
    "03": 190,
    "04": 560,
    "06": 220,
    "07": 250,
    "08": 660,
    "09": 800,
    "10": 700,
    "11": 490,
    "12": 390,
    "13": 290,
    "14": 520,
    "15": 320,
    "16": 550,
    "17": 640,
    "18": 420,
    "19": 220,
    "20": 330,
    "22": 110,
    "23": 330,
    "24": 1000,
    "25": 1100,
    "27": 50,
    "28": 220,
    "31": 60,
    "32": 85,
    "33": 85,
    "43": 105,
    "70": 540,
}
FIRST_NAMES = [
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Emma",
    "Inès",
    "Jade",
    "Louise",
    "Lina",
    "Zoé",
    "Lucas",
    "Hugo",
    "Louis",
    "Gabriel",
    "Arthur",
    "Jules",
    "Nathan",
    "Raphaël",
    "Adam",
    "Ethan",
    "Sarah",
    "Nora",
    "Yanis",
    "Mohamed",
    "Amir",
    "Maël",
    "Noah",
    "Léo",
    "Tom",
    "Lou",
    "Anaïs",
    "Elsa",
    "Rose",
    "Alice",
    "Nina",
    "Théo",
    "Paul",
    "Sacha",
    "Malo",
    "Ibrahim",
    "Aïcha",
    "Fatou",
    "Kenza",
    "Maëlys",
    "Lisa",
    "Océane",
    "Clément",
    "Antoine",
    "Julien",
    "Sophie",
    "Nathalie",
    "Isabelle",
    "Sandrine",
    "Céline",
    "Stéphanie",
    "Philippe",
    "Christophe",
    "Laurent",
    "Frédéric",
    "Olivier",
    "Patrick",
    "Valérie",
    "Karine",
    "Sylvie",
    "Hélène",
]
WORDS = [
    "Colibri",
    "Renard",
    "Mésange",
    "Hibou",
    "Castor",
    "Loutre",
    "Lynx",
    "Héron",
    "Cèdre",
    "Tilleul",
    "Érable",
    "Saule",
    "Bruyère",
    "Lavande",
    "Mistral",
    "Sirocco",
    "Étoile",
    "Comète",
    "Boussole",
    "Carnet",
    "Crayon",
    "Plume",
    "Tableau",
    "Cahier",
    "Atlas",
    "Globe",
    "Prisme",
    "Pixel",
    "Octet",
    "Réseau",
    "Clavier",
    "Souris",
    "Écran",
]


@dataclass(frozen=True)
class DemoAccount:
    pseudonym: str
    email: str
    role: str
    scope_kind: str = "national"
    scope_code: str = ""


NAMED_ACCOUNTS = (
    DemoAccount("AdminDemo", f"admin@{DEMO_EMAIL_DOMAIN}", "admin"),
    DemoAccount("ModerationDemo", f"moderation@{DEMO_EMAIL_DOMAIN}", "moderator"),
    DemoAccount("AnalyseDemo", f"analyse@{DEMO_EMAIL_DOMAIN}", "analyst"),
    DemoAccount(
        "CoordPoitiers", f"coord-poitiers@{DEMO_EMAIL_DOMAIN}", "coordinator", "academie", "13"
    ),
    DemoAccount(
        "CoordOccitanie", f"coord-occitanie@{DEMO_EMAIL_DOMAIN}", "coordinator", "region", "76"
    ),
)


def has_accounts(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(User)) > 0


def _pick(rng: random.Random, weights: dict) -> list:
    keys = list(weights)
    return keys, [weights[k] for k in keys]


def _progress(label: str, length: int) -> click.progressbar:
    return click.progressbar(length=length, label=label, show_pos=True, file=None)


def _timestamps(rng: random.Random, count: int) -> Iterator[datetime]:
    """Sign-ups spread over the consultation, busier at the start (launch effect)."""
    config = current_app.config
    start = datetime.combine(config["CONSULTATION_OPENS"], datetime.min.time())
    end = min(utcnow(), datetime.combine(config["CONSULTATION_CLOSES"], datetime.min.time()))
    span = max((end - start).total_seconds(), 3600)
    for _ in range(count):
        yield start + timedelta(seconds=span * rng.betavariate(1.2, 3.0))


def _create_users(session: Session, total: int, rng: random.Random) -> int:
    audiences, audience_w = _pick(rng, AUDIENCE_WEIGHTS)
    cat = catalog()
    acad_codes = [c for c in ACADEMIE_WEIGHTS if c in cat.academies]
    acad_w = [ACADEMIE_WEIGHTS[c] for c in acad_codes]
    start = (session.scalar(select(func.max(User.id))) or 0) + 1
    # One hash for every generated account: argon2 is deliberately slow.
    shared_hash = hash_password(DEMO_PASSWORD)
    times = _timestamps(rng, total)
    created = 0
    with _progress("Comptes", total) as bar:
        while created < total:
            rows = []
            for i in range(start + created, start + min(total, created + CHUNK)):
                audience = rng.choices(audiences, audience_w)[0]
                academie = rng.choices(acad_codes, acad_w)[0]
                depts = cat.academies[academie].departement_codes
                pseudonym = f"{rng.choice(FIRST_NAMES)}{rng.choice(WORDS)}{i}"
                when = next(times)
                rows.append(
                    {
                        "pseudonym": pseudonym,
                        "pseudonym_key": fold(pseudonym),
                        "email": f"participant{i}@{DEMO_EMAIL_DOMAIN}",
                        "email_key": f"participant{i}@{DEMO_EMAIL_DOMAIN}",
                        "password_hash": shared_hash,
                        "audience": audience.value,
                        "school_level": rng.choice(list(SchoolLevel)).value
                        if audience is Audience.ELEVE
                        else None,
                        "other_actor_kind": rng.choice(list(OtherActorKind)).value
                        if audience is Audience.AUTRE
                        else None,
                        "academie_code": academie,
                        "departement_code": rng.choice(depts) if rng.random() < 0.6 else None,
                        "session_version": 1,
                        "created_at": when,
                        "updated_at": when,
                        "is_demo": True,
                    }
                )
            session.execute(insert(User), rows)
            session.commit()
            created += len(rows)
            bar.update(len(rows))
    return created


def _create_named_accounts(session: Session) -> list[str]:
    from consult.accounts import services
    from consult.models import Audience as Aud

    lines = []
    for account in NAMED_ACCOUNTS:
        if services.pseudonym_taken(session, account.pseudonym):
            continue
        user = services.register(
            session,
            services.ProfileData(
                pseudonym=account.pseudonym,
                audience=Aud.PROFESSEUR.value if account.role != "admin" else Aud.AUTRE.value,
                academie_code=account.scope_code if account.scope_kind == "academie" else "13",
            ),
            account.email,
            DEMO_PASSWORD,
        )
        user.is_demo = True
        services.grant_role(session, user, account.role, account.scope_kind, account.scope_code)
        lines.append(f"  {account.email} / {DEMO_PASSWORD}  ({account.role})")
    session.commit()
    return lines


def generate(scale: str, seed: int = 2020) -> list[str]:
    if scale not in SCALES:
        raise click.BadParameter(f"échelle inconnue : {scale}")
    session = db.session
    rng = random.Random(seed)
    load_territories(session)
    session.commit()
    summary = []
    named = _create_named_accounts(session)
    users = _create_users(session, SCALES[scale], rng)
    summary.append(f"{users} comptes de démonstration créés (échelle {scale}, graine {seed}).")
    step: Callable[..., None]
    for name, step in hooks().demo_steps:
        step(session, scale, rng, _progress)
        session.commit()
        summary.append(f"Étape « {name} » terminée.")
    if named:
        summary.append("Comptes nommés (mot de passe commun de démonstration) :")
        summary.extend(named)
    return summary
