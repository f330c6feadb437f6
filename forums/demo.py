"""Demo content for the forums at every scale, skewed like real consultations: a few
contributions draw most votes and comments, most get a handful.

Scales: tiny (a laptop demo), egn (10× the 2020 edition: 6,700 contributions, 30,000 votes,
20,000 comments), gd (Grand Débat: 600,000 contributions, 5 million votes, 1 million comments).
Rows are inserted in bulk chunks with explicit ids, so counters are computed once, exactly.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from consult.db import utcnow
from consult.models import User
from forums.models import Comment, Contribution, SubTheme, Theme, Vote, wilson_lower_bound
from forums.services import _excerpt

SIZES = {
    "tiny": (60, 900, 240),
    "egn": (6_700, 30_000, 20_000),
    "gd": (600_000, 5_000_000, 1_000_000),
}
CHUNK = 5_000

# Per theme: proposals (title openings) and what they apply to, then body sentences.
TITLES = {
    1: (
        [
            "Prêter un ordinateur portable",
            "Garantir une connexion internet",
            "Installer des points d'accès wifi",
            "Créer un fonds d'équipement",
            "Ouvrir les salles informatiques le soir",
            "Former les parents aux outils numériques",
            "Adapter les ressources numériques",
            "Distribuer des clés 4G",
        ],
        [
            "à chaque élève boursier",
            "dans les collèges ruraux",
            "aux familles qui en sont dépourvues",
            "pour les élèves en situation de handicap",
            "dans les quartiers prioritaires",
            "pendant les périodes de confinement",
            "aux élèves allophones",
            "dans les internats",
        ],
    ),
    2: (
        [
            "Généraliser les classes inversées",
            "Créer une banque de ressources libres",
            "Intégrer la programmation",
            "Former tous les enseignants",
            "Développer l'évaluation par compétences",
            "Limiter le temps d'écran",
            "Utiliser les manuels numériques",
            "Mutualiser les séquences hybrides",
        ],
        [
            "dès l'école primaire",
            "au collège",
            "en lycée professionnel",
            "avec des temps de formation sur le temps de service",
            "en s'appuyant sur Pix",
            "entre établissements d'une même académie",
            "en mathématiques et en sciences",
            "pour l'enseignement à distance",
        ],
    ),
    3: (
        [
            "Simplifier l'ENT",
            "Donner un espace de travail partagé",
            "Créer des communautés de pratique",
            "Harmoniser les outils de communication",
            "Reconnaître le travail collaboratif",
            "Mettre en place un droit à la déconnexion",
            "Organiser des échanges entre pairs",
            "Former les personnels de direction",
        ],
        [
            "pour tous les personnels",
            "entre enseignants et familles",
            "dans chaque bassin",
            "avec les agents des collectivités",
            "à l'échelle de l'académie",
            "pour les équipes pédagogiques",
            "avec les inspecteurs",
            "au sein des réseaux d'établissements",
        ],
    ),
    4: (
        [
            "Privilégier les logiciels libres",
            "Héberger les données scolaires en France",
            "Prolonger la durée de vie des équipements",
            "Enseigner l'éducation aux médias",
            "Interdire le traçage publicitaire",
            "Recycler les tablettes",
            "Mesurer l'empreinte carbone du numérique",
            "Sensibiliser au cyberharcèlement",
        ],
        [
            "dans tous les établissements",
            "pour les élèves mineurs",
            "en partenariat avec les collectivités",
            "dans les marchés publics",
            "dès la sixième",
            "avec les associations",
            "dans les services académiques",
            "en lien avec la CNIL",
        ],
    ),
    5: (
        [
            "Associer les élèves au pilotage",
            "Créer un observatoire",
            "Clarifier le partage des rôles",
            "Financer l'expérimentation",
            "Préparer un plan de continuité",
            "Évaluer chaque année les usages",
            "Publier les données de l'équipement",
            "Installer un comité de suivi",
        ],
        [
            "avec les collectivités territoriales",
            "dans chaque région académique",
            "du numérique éducatif",
            "avec la recherche en éducation",
            "en cas de crise sanitaire",
            "au niveau national",
            "en open data",
            "avec les représentants des parents",
        ],
    ),
}
SENTENCES = [
    "Pendant le confinement, beaucoup de familles n'avaient qu'un téléphone "
    "pour plusieurs enfants.",
    "Dans mon établissement, les enseignants ont inventé des solutions chacun de leur côté.",
    "Les élèves ont montré qu'ils savaient utiliser les réseaux sociaux, "
    "pas forcément les outils de travail.",
    "Il faudrait que les moyens suivent, sinon la mesure restera sur le papier.",
    "Les collectivités financent l'équipement mais la maintenance manque souvent.",
    "Une formation courte et pratique, proche du terrain, serait plus utile "
    "qu'un long parcours en ligne.",
    "Nous avons besoin d'outils simples, qui marchent sur tous les appareils.",
    "Les données des élèves doivent être protégées, surtout quand ils sont mineurs.",
    "Cette proposition a été discutée lors de la réunion de notre conseil d'école.",
    "Certaines familles ne lisent pas le français : les messages doivent rester clairs.",
    "Le numérique ne remplace pas le lien avec l'enseignant, il le prolonge.",
    "On pourrait s'inspirer de ce qui a fonctionné dans d'autres académies.",
    "Les élèves en situation de handicap ont souvent été les premiers oubliés.",
    "Il faut évaluer l'expérimentation avant de la généraliser.",
    "La connexion dans les zones rurales reste un vrai problème au quotidien.",
    "Les professeurs documentalistes ont un rôle clé à jouer.",
]
COMMENTS_POUR = [
    "Tout à fait d'accord, c'est ce que nous vivons dans notre collège.",
    "Bonne idée, à condition de prévoir la formation qui va avec.",
    "Oui ! Cela aurait beaucoup aidé ma fille pendant le confinement.",
    "C'est une priorité, et cela ne coûte pas si cher.",
    "Nous l'avons testé dans notre lycée : les résultats sont encourageants.",
]
COMMENTS_CONTRE = [
    "Je ne suis pas convaincu : le problème est surtout humain, pas matériel.",
    "Attention au coût pour les collectivités, qui n'ont pas toutes les mêmes moyens.",
    "Encore un outil de plus, alors que les équipes sont déjà saturées.",
    "Cela risque d'accentuer les inégalités entre établissements.",
    "Les écrans sont déjà trop présents dans la vie des enfants.",
]


def _weights(rng: random.Random, n: int) -> list[float]:
    # Pareto popularity: a long tail of little-seen contributions and a few very visible ones.
    return [rng.paretovariate(1.1) for _ in range(n)]


def _allocate(rng: random.Random, weights: list[float], total: int, cap: int) -> list[int]:
    scale = total / sum(weights)
    counts = [min(cap, int(w * scale)) for w in weights]
    # Hand the rounding remainder out at random, popular ones first in expectation.
    missing = total - sum(counts)
    if missing > 0:
        for index in rng.choices(range(len(weights)), weights=weights, k=missing):
            if counts[index] < cap:
                counts[index] += 1
    return counts


def _chunks(rows: Iterator[dict], size: int = CHUNK) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _after(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = max((end - start).total_seconds(), 60)
    return start + timedelta(seconds=span * rng.betavariate(1.0, 4.0))


def generate(session: Session, scale: str, rng: random.Random, progress: Callable) -> None:
    n_contrib, n_votes, n_comments = SIZES[scale]
    users = session.execute(
        select(User.id, User.audience, User.academie_code).where(User.is_demo.is_(True))
    ).all()
    if len(users) < 10:
        return
    themes = session.scalars(select(Theme).order_by(Theme.position)).all()
    subthemes = {
        t.id: session.scalars(select(SubTheme.id).where(SubTheme.theme_id == t.id)).all()
        for t in themes
    }
    config = current_app.config
    opens = datetime.combine(config["CONSULTATION_OPENS"], datetime.min.time())
    now = utcnow()
    closes = min(now, datetime.combine(config["CONSULTATION_CLOSES"], datetime.min.time()))
    first_id = (session.scalar(select(func.max(Contribution.id))) or 0) + 1
    # Theme 2 (teaching) draws most contributions, governance the fewest.
    theme_weights = [22, 34, 18, 16, 10][: len(themes)]

    popularity = _weights(rng, n_contrib)
    vote_counts = _allocate(rng, popularity, n_votes, len(users) - 1)
    comment_counts = _allocate(rng, popularity, n_comments, 5_000)
    adoption = [rng.betavariate(4, 2) for _ in range(n_contrib)]
    meta = []  # (id, author index, created_at) for votes and comments

    def contributions() -> Iterator[dict]:
        for i in range(n_contrib):
            theme = rng.choices(themes, theme_weights)[0]
            openings, targets = TITLES[theme.position]
            title = f"{rng.choice(openings)} {rng.choice(targets)}"
            body = " ".join(rng.sample(SENTENCES, rng.randint(2, 5)))
            author = rng.randrange(len(users))
            created = (
                _after(rng, opens, closes)
                if rng.random() < 0.7
                else opens + (closes - opens) * rng.random()
            )
            adopt = round(vote_counts[i] * adoption[i])
            refuse = vote_counts[i] - adopt
            meta.append((first_id + i, author, created, adopt))
            _uid, audience, academie = users[author]
            # The same split as the comment rows below: 80 % top-level, shared by adoption.
            tops = round(comment_counts[i] * 0.8)
            pour = round(tops * adoption[i])
            contre = tops - pour
            yield {
                "id": first_id + i,
                "theme_id": theme.id,
                "subtheme_id": rng.choice(subthemes[theme.id]),
                "author_id": users[author][0],
                "author_audience": audience,
                "author_academie_code": academie,
                "title": title,
                "body": body,
                "excerpt": _excerpt(body),
                "created_at": created,
                "adopt_count": adopt,
                "refuse_count": refuse,
                "pour_count": pour,
                "contre_count": contre,
                "comment_count": comment_counts[i],
                "wilson": wilson_lower_bound(adopt, refuse),
                "held_for_review": False,
                "report_count": 0,
            }

    with progress("Forums : contributions", n_contrib) as bar:
        for batch in _chunks(contributions()):
            session.execute(insert(Contribution), batch)
            session.commit()
            bar.update(len(batch))

    def votes() -> Iterator[dict]:
        for i, (cid, author, created, adopt) in enumerate(meta):
            count = vote_counts[i]
            if not count:
                continue
            voters = rng.sample(range(len(users) - 1), count)
            for rank, voter in enumerate(voters):
                # Skip the author by shifting indexes past it.
                index = voter + 1 if voter >= author else voter
                uid, audience, academie = users[index]
                when = _after(rng, created, now)
                yield {
                    "contribution_id": cid,
                    "user_id": uid,
                    "value": "adopt" if rank < adopt else "refuse",
                    "author_audience": audience,
                    "author_academie_code": academie,
                    "created_at": when,
                    "updated_at": when,
                }

    with progress("Forums : votes", n_votes) as bar:
        for batch in _chunks(votes()):
            session.execute(insert(Vote), batch)
            session.commit()
            bar.update(len(batch))

    first_comment = (session.scalar(select(func.max(Comment.id))) or 0) + 1

    def comments() -> Iterator[dict]:
        next_id = first_comment
        for i, (cid, _author, created, _adopt) in enumerate(meta):
            count = comment_counts[i]
            if not count:
                continue
            tops = round(count * 0.8)
            pour = round(tops * adoption[i])
            top_ids: list[tuple[int, str, datetime]] = []
            for k in range(count):
                uid, audience, academie = users[rng.randrange(len(users))]
                if k < tops:
                    polarity = "pour" if k < pour else "contre"
                    parent = None
                    when = _after(rng, created, now)
                    top_ids.append((next_id, polarity, when))
                else:
                    # A reply comes after the comment it answers.
                    parent, polarity, parent_created = rng.choice(top_ids)
                    when = _after(rng, parent_created, now)
                bank = COMMENTS_POUR if polarity == "pour" else COMMENTS_CONTRE
                yield {
                    "id": next_id,
                    "contribution_id": cid,
                    "parent_id": parent,
                    "author_id": uid,
                    "author_audience": audience,
                    "author_academie_code": academie,
                    "polarity": polarity,
                    "body": rng.choice(bank),
                    "created_at": when,
                    "held_for_review": False,
                    "report_count": 0,
                }
                next_id += 1

    with progress("Forums : commentaires", n_comments) as bar:
        for batch in _chunks(comments()):
            session.execute(insert(Comment), batch)
            session.commit()
            bar.update(len(batch))

    if session.get_bind().dialect.name == "postgresql":
        # Explicit ids leave the sequences behind; later inserts must not collide.
        for table in ("forum_contribution", "forum_comment"):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
            )
        session.execute(text("ANALYZE forum_contribution, forum_vote, forum_comment"))
    session.commit()
