"""Demo Retex sheets in every académie: published, submitted and draft, in realistic French."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from consult.db import utcnow
from consult.models import Role, RoleGrant, User
from consult.territories import catalog
from retex.models import (
    ESTABLISHMENTS,
    RetexReview,
    RetexRevision,
    RetexSheet,
    SheetStatus,
    pack,
)
from retex.services import search_text

# Sheets per académie at each scale (the 2020 edition had a few hundred in all).
PER_ACADEMIE = {"tiny": 5, "egn": 40, "gd": 200}
CHUNK = 2_000

SUBJECTS = [
    ("Prêt de tablettes aux familles sans équipement", "1", "tablettes prêtées"),
    ("Classe virtuelle quotidienne en 3e", "2", "classes virtuelles"),
    ("Cellule d'entraide numérique entre enseignants", "3", "collègues accompagnés"),
    ("Plan de continuité pédagogique partagé", "5", "établissements du réseau"),
    ("Logiciels libres pour la continuité pédagogique", "4", "postes équipés"),
    ("Distribution de devoirs imprimés par la mairie", "1", "familles servies"),
    ("Podcasts de lecture pour le cycle 2", "2", "épisodes enregistrés"),
    ("Tutorat entre élèves par visioconférence", "2", "binômes de tutorat"),
    ("Formation flash des AESH aux outils de l'ENT", "3", "AESH formés"),
    ("Hébergement souverain des ressources du lycée", "4", "ressources migrées"),
    ("Tableau de bord de suivi du décrochage", "5", "élèves suivis"),
    ("Permanence téléphonique pour les parents", "1", "appels reçus"),
    ("Escape game numérique en sciences", "2", "élèves participants"),
    ("Mutualisation de séquences entre collèges", "3", "séquences partagées"),
    ("Sobriété numérique : charte de l'établissement", "4", "classes signataires"),
]
PLACES = [
    "un collège rural de {dept}",
    "un lycée professionnel de {dept}",
    "une école de quartier prioritaire de {dept}",
    "une circonscription de {dept}",
    "un réseau d'écoles de {dept}",
    "un lycée général de {dept}",
]
CONTEXTS = [
    "Au début du confinement, près d'un élève sur cinq n'avait ni ordinateur ni connexion "
    "suffisante à la maison, dans {place}.",
    "Dans {place}, les équipes ont dû basculer en quelques jours vers l'enseignement à "
    "distance, sans outil commun ni formation préalable.",
    "Après la rentrée de septembre, {place} a voulu garder ce qui avait fonctionné pendant le "
    "confinement et corriger ce qui avait laissé des élèves de côté.",
]
ACTIONS = [
    "Nous avons recensé les besoins famille par famille, puis organisé {what} avec un "
    "calendrier affiché sur l'ENT.\n\n- une référente par niveau ;\n- un point hebdomadaire "
    "avec la direction ;\n- un retour systématique aux familles.",
    "L'équipe a mis en place {what}, d'abord à titre expérimental dans deux classes, puis "
    "étendu à tout l'établissement après trois semaines.",
    "Un groupe de volontaires a conçu {what} ; le conseil pédagogique a validé un cadre commun "
    "pour que chaque classe s'y retrouve.",
]
TOOLS = [
    "ENT académique, classe virtuelle du CNED (« Ma classe à la maison »), téléphone.",
    "Tablettes prêtées par le conseil départemental, clés 4G, Pronote.",
    "Outils libres (Nextcloud, BigBlueButton), apps.education.fr, courrier papier.",
    "Visioconférence, padlets, documents imprimés déposés en mairie.",
]
RESULTS = [
    "**{n} {unit}** en six semaines ; le taux d'élèves sans nouvelles est passé de 18 % à 4 %.",
    "{n} {unit} ; 82 % des familles interrogées se disent satisfaites du dispositif.",
    "{n} {unit}, et une baisse nette des devoirs non rendus au troisième trimestre.",
]
DIFFICULTIES = [
    "La connexion reste instable dans les zones blanches ; certaines familles partagent un "
    "seul téléphone entre plusieurs enfants.",
    "La charge de travail des enseignants a fortement augmenté ; il a fallu limiter les "
    "sollicitations en soirée.",
    "Les consignes nationales évoluaient vite et il a été difficile de stabiliser les pratiques.",
    "",
]
LESSONS = [
    "Un outil simple et unique vaut mieux que plusieurs outils performants : les familles s'y "
    "retrouvent.",
    "Le lien humain (appel téléphonique, passage en mairie) a compté autant que l'équipement.",
    "Former les équipes avant la crise aurait fait gagner plusieurs semaines.",
]
TRANSFER = [
    "Transférable à tout établissement disposant d'un ENT ; prévoir une personne référente.",
    "Facile à reproduire avec l'appui de la collectivité ; le coût principal est l'équipement.",
    "",
]
ROLES = ["IAN de l'académie", "principal adjoint", "conseillère pédagogique numérique", "", ""]
AUDIENCE_SETS = [
    ["eleve", "professeur"],
    ["parent", "eleve"],
    ["professeur"],
    ["encadrement", "professeur", "agent"],
    ["eleve", "parent", "professeur"],
]
LEVEL_FOR = {
    "ecole": "premier_degre",
    "circonscription": "premier_degre",
    "college": "college",
    "lycee": "lycee",
    "lycee_pro": "lycee",
}


def generate(
    session: Session, scale: str, rng: random.Random, progress: Callable[..., object]
) -> None:
    cat = catalog()
    authors: dict[str, list[tuple[int, str]]] = {}
    for user_id, academie, audience in session.execute(
        select(User.id, User.academie_code, User.audience).where(
            User.is_demo.is_(True), User.audience.in_(["professeur", "encadrement"])
        )
    ):
        authors.setdefault(academie, []).append((user_id, audience))
    reviewer = session.scalar(
        select(RoleGrant.user_id).where(RoleGrant.role.in_([Role.COORDINATOR, Role.ADMIN])).limit(1)
    )
    sheet_id = (session.scalar(select(func.max(RetexSheet.id))) or 0) + 1
    revision_id = (session.scalar(select(func.max(RetexRevision.id))) or 0) + 1
    sqlite = session.get_bind().dialect.name == "sqlite"
    per = PER_ACADEMIE[scale]
    everyone = [(author, code) for code, found in authors.items() for author in found]
    if not everyone:
        return
    academies = cat.academies_sorted()
    sheets, revisions, reviews = [], [], []

    def flush() -> None:
        if sheets:
            session.execute(insert(RetexSheet), sheets)
        if revisions:
            session.execute(insert(RetexRevision), revisions)
        if reviews:
            session.execute(insert(RetexReview), reviews)
        session.commit()
        for batch in (sheets, revisions, reviews):
            batch.clear()

    with progress("Fiches Retex", len(academies) * per) as bar:
        for acad in academies:
            for i in range(per):
                # Roughly 60 % published, 20 % awaiting review, 20 % drafts.
                roll = i % 5
                status = (
                    SheetStatus.PUBLISHED
                    if roll < 3
                    else SheetStatus.SUBMITTED
                    if roll == 3
                    else SheetStatus.DRAFT
                )
                # The first five of each académie stay at académie or département level, so
                # every académie has all three states; later ones may speak for the région.
                content = _content(rng, cat, acad, allow_region=i >= 5)
                when = _when(rng)
                # Small académies may have no demo teacher at tiny scale: borrow one.
                local = authors.get(acad.code)
                (author_id, author_audience), author_academie = (
                    (rng.choice(local), acad.code) if local else rng.choice(everyone)
                )
                sheets.append(
                    {
                        "id": sheet_id,
                        "author_id": author_id,
                        "author_audience": author_audience,
                        "author_academie_code": author_academie,
                        "status": status.value,
                        "published_version": 1 if status is SheetStatus.PUBLISHED else 0,
                        "created_at": when,
                        "updated_at": when + timedelta(days=2),
                        "submitted_at": when + timedelta(days=1)
                        if status is not SheetStatus.DRAFT
                        else None,
                        **content,
                    }
                )
                if status is not SheetStatus.DRAFT:
                    reviews.append(
                        {
                            "sheet_id": sheet_id,
                            "actor_id": author_id,
                            "action": "submitted",
                            "comment": "",
                            "created_at": when + timedelta(days=1),
                        }
                    )
                if status is SheetStatus.PUBLISHED:
                    body = search_text(content)
                    revisions.append(
                        {
                            "id": revision_id,
                            "sheet_id": sheet_id,
                            "version": 1,
                            "published_at": when + timedelta(days=3),
                            "reviewer_id": reviewer,
                            "search_text": body,
                            **content,
                        }
                    )
                    reviews.append(
                        {
                            "sheet_id": sheet_id,
                            "actor_id": reviewer,
                            "action": "published",
                            "comment": "Merci pour ce retour très concret.",
                            "created_at": when + timedelta(days=3),
                        }
                    )
                    revision_id += 1
                sheet_id += 1
                if len(sheets) >= CHUNK:
                    flush()
                bar.update(1)
        flush()
    if not sqlite:
        # Fresh statistics after a bulk load, so the planner sees the real row counts.
        session.execute(text("ANALYZE retex_sheet, retex_revision"))
        session.commit()


def _when(rng: random.Random) -> datetime:
    start = datetime(2020, 5, 1)
    span = max((utcnow() - start).total_seconds(), 86400)
    return start + timedelta(seconds=span * rng.betavariate(1.5, 4))


def _content(rng: random.Random, cat, acad, allow_region: bool) -> dict:
    title, theme, unit = rng.choice(SUBJECTS)
    dept_code = rng.choice(acad.departement_codes) if acad.departement_codes else None
    dept = cat.departements[dept_code].name if dept_code else acad.name
    level_roll = rng.random()
    if allow_region and level_roll < 0.15:
        level, code, academie_code = "region", acad.region_code, None
    elif level_roll < 0.45 and dept_code:
        level, code, academie_code = "departement", dept_code, acad.code
    else:
        level, code, academie_code = "academie", acad.code, acad.code
    establishment = rng.choice(list(ESTABLISHMENTS))
    place = rng.choice(PLACES).format(dept=dept)
    themes = {theme} | ({rng.choice("12345")} if rng.random() < 0.4 else set())
    return {
        "title": f"{title} ({dept})",
        "territory_level": level,
        "territory_code": code,
        "academie_code": academie_code,
        "region_code": acad.region_code,
        "establishment": establishment,
        "school_level": LEVEL_FOR.get(establishment, rng.choice(["college", "lycee", "tous"])),
        "period": "confinement_2020" if rng.random() < 0.6 else "apres",
        "themes": pack(sorted(themes)),
        "audiences": pack(rng.choice(AUDIENCE_SETS)),
        "contact_role": rng.choice(ROLES),
        "context": rng.choice(CONTEXTS).format(place=place),
        "actions": rng.choice(ACTIONS).format(what=title.lower()),
        "tools": rng.choice(TOOLS),
        "results": rng.choice(RESULTS).format(n=rng.randint(12, 900), unit=unit),
        "difficulties": rng.choice(DIFFICULTIES),
        "lessons": rng.choice(LESSONS),
        "transferability": rng.choice(TRANSFER),
    }
