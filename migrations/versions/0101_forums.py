"""forums: themes, contributions, votes, comments

Revision ID: 0101_forums
Revises: 0001_core
Create Date: 2026-11-23 13:28:48.641061
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0101_forums"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("forums",)
depends_on: str | Sequence[str] | None = None


THEME_OPENS = date(2020, 6, 1)
THEME_CLOSES = date(2027, 6, 30)
# The five themes of the 2020 États généraux du numérique pour l'éducation and their sub-themes.
THEMES = [
    (
        "fracture-numerique",
        "Garantir un égal accès au numérique pour tous / fracture numérique",
        "Équipement, connexion, accompagnement : que faut-il pour qu'aucun élève ne reste "
        "à l'écart ?",
        [
            ("equipement", "Équipement des élèves et des familles"),
            ("connexion", "Connexion et couverture des territoires"),
            ("inclusion", "Élèves en situation de handicap et besoins particuliers"),
            ("accompagnement-familles", "Accompagnement des familles"),
            ("continuite", "Continuité pédagogique"),
        ],
    ),
    (
        "enseigner-apprendre",
        "Enseigner et apprendre avec le numérique",
        "Ressources, pratiques, évaluation, formation : ce qui a fonctionné et ce qui a manqué.",
        [
            ("ressources", "Ressources et manuels numériques"),
            ("pratiques", "Pratiques pédagogiques et enseignement hybride"),
            ("evaluation", "Évaluation et suivi des apprentissages"),
            ("formation-enseignants", "Formation des enseignants"),
            ("competences-eleves", "Compétences numériques des élèves"),
        ],
    ),
    (
        "travailler-ensemble",
        "Travailler ensemble autrement / culture numérique professionnelle commune",
        "Outils partagés, relations avec les familles, communautés professionnelles.",
        [
            ("outils-collaboratifs", "Outils collaboratifs et espaces numériques de travail"),
            ("ecole-familles", "Relations entre l'école et les familles"),
            ("communautes", "Communautés professionnelles et partage de pratiques"),
            ("organisation", "Organisation et temps de travail"),
        ],
    ),
    (
        "numerique-responsable",
        "Favoriser le développement d'un numérique responsable et souverain",
        "Données personnelles, logiciels libres, sobriété, éducation aux médias.",
        [
            ("donnees", "Protection des données personnelles"),
            ("souverainete", "Logiciels libres et solutions souveraines"),
            ("sobriete", "Sobriété et impact environnemental"),
            ("citoyennete", "Éducation aux médias et citoyenneté numérique"),
        ],
    ),
    (
        "gouvernance-anticipation",
        "Mettre en place de nouvelles formes de gouvernance et de nouveaux outils d'anticipation",
        "Pilotage national et territorial, partenariats, recherche, préparation aux crises.",
        [
            ("pilotage", "Pilotage national et territorial"),
            ("collectivites", "Partenariat avec les collectivités"),
            ("recherche", "Recherche, innovation et expérimentation"),
            ("anticipation", "Anticipation des crises"),
        ],
    ),
]

SQLITE_FTS = [
    # External-content FTS5 index: the text lives once, in forum_contribution.
    "CREATE VIRTUAL TABLE forum_contribution_fts USING fts5(title, body, "
    "content='forum_contribution', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER forum_contribution_fts_ai AFTER INSERT ON forum_contribution BEGIN "
    "INSERT INTO forum_contribution_fts(rowid, title, body) VALUES (new.id, new.title, new.body); "
    "END",
    "CREATE TRIGGER forum_contribution_fts_ad AFTER DELETE ON forum_contribution BEGIN "
    "INSERT INTO forum_contribution_fts(forum_contribution_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER forum_contribution_fts_au AFTER UPDATE OF title, body ON forum_contribution "
    "BEGIN INSERT INTO forum_contribution_fts(forum_contribution_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO forum_contribution_fts(rowid, title, body) VALUES (new.id, new.title, new.body); "
    "END",
]


def _seed() -> None:
    theme = sa.table(
        "forum_theme",
        sa.column("id", sa.Integer),
        sa.column("slug", sa.String),
        sa.column("position", sa.Integer),
        sa.column("title", sa.String),
        sa.column("description", sa.Text),
        sa.column("opens_on", sa.Date),
        sa.column("closes_on", sa.Date),
    )
    subtheme = sa.table(
        "forum_subtheme",
        sa.column("theme_id", sa.Integer),
        sa.column("slug", sa.String),
        sa.column("position", sa.Integer),
        sa.column("title", sa.String),
    )
    op.bulk_insert(
        theme,
        [
            {
                "id": i,
                "slug": slug,
                "position": i,
                "title": title,
                "description": description,
                "opens_on": THEME_OPENS,
                "closes_on": THEME_CLOSES,
            }
            for i, (slug, title, description, _subs) in enumerate(THEMES, start=1)
        ],
    )
    op.bulk_insert(
        subtheme,
        [
            {"theme_id": i, "slug": slug, "position": j, "title": title}
            for i, (_slug, _title, _description, subs) in enumerate(THEMES, start=1)
            for j, (slug, title) in enumerate(subs, start=1)
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        # Explicit theme ids: move the sequence past them.
        op.execute("SELECT setval(pg_get_serial_sequence('forum_theme', 'id'), 5)")


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "forum_theme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_theme")),
        sa.UniqueConstraint("slug", name=op.f("uq_forum_theme_slug")),
    )
    op.create_table(
        "forum_subtheme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["theme_id"], ["forum_theme.id"], name=op.f("fk_forum_subtheme_theme_id_forum_theme")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_subtheme")),
        sa.UniqueConstraint("theme_id", "slug", name="uq_forum_subtheme_slug"),
    )
    with op.batch_alter_table("forum_subtheme", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forum_subtheme_theme_id"), ["theme_id"], unique=False)

    op.create_table(
        "forum_contribution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("subtheme_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=150), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("excerpt", sa.String(length=281), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("adopt_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("refuse_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pour_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("contre_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("comment_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("wilson", sa.Float(), server_default="0", nullable=False),
        sa.Column("shuffle_key", sa.Integer(), server_default="0", nullable=False),
        sa.Column("hidden_at", sa.DateTime(), nullable=True),
        sa.Column("hidden_reason", sa.String(length=500), nullable=True),
        sa.Column("held_for_review", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("report_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("author_audience", sa.String(length=20), nullable=False),
        sa.Column("author_academie_code", sa.String(length=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_academie_code"],
            ["academie.code"],
            name=op.f("fk_forum_contribution_author_academie_code_academie"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_forum_contribution_author_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["subtheme_id"],
            ["forum_subtheme.id"],
            name=op.f("fk_forum_contribution_subtheme_id_forum_subtheme"),
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["forum_theme.id"],
            name=op.f("fk_forum_contribution_theme_id_forum_theme"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_contribution")),
    )
    with op.batch_alter_table("forum_contribution", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forum_contribution_author_academie_code"),
            ["author_academie_code"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_forum_contribution_author_audience"), ["author_audience"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_forum_contribution_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_forum_contribution_held_for_review"), ["held_for_review"], unique=False
        )
        batch_op.create_index(
            "ix_forum_contribution_subtheme_wilson", ["subtheme_id", "wilson", "id"], unique=False
        )
        batch_op.create_index(
            "ix_forum_contribution_theme_debate", ["theme_id", "comment_count", "id"], unique=False
        )
        batch_op.create_index(
            "ix_forum_contribution_theme_recent", ["theme_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_forum_contribution_theme_shuffle", ["theme_id", "shuffle_key", "id"], unique=False
        )
        batch_op.create_index(
            "ix_forum_contribution_theme_wilson", ["theme_id", "wilson", "id"], unique=False
        )

    op.create_table(
        "forum_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contribution_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("polarity", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("hidden_at", sa.DateTime(), nullable=True),
        sa.Column("hidden_reason", sa.String(length=500), nullable=True),
        sa.Column("held_for_review", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("report_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("author_audience", sa.String(length=20), nullable=False),
        sa.Column("author_academie_code", sa.String(length=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_academie_code"],
            ["academie.code"],
            name=op.f("fk_forum_comment_author_academie_code_academie"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["user_account.id"], name=op.f("fk_forum_comment_author_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["contribution_id"],
            ["forum_contribution.id"],
            name=op.f("fk_forum_comment_contribution_id_forum_contribution"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["forum_comment.id"],
            name=op.f("fk_forum_comment_parent_id_forum_comment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_comment")),
    )
    with op.batch_alter_table("forum_comment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forum_comment_author_academie_code"),
            ["author_academie_code"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_forum_comment_author_audience"), ["author_audience"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_forum_comment_author_id"), ["author_id"], unique=False)
        batch_op.create_index(
            "ix_forum_comment_contribution", ["contribution_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_forum_comment_held_for_review"), ["held_for_review"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_forum_comment_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "forum_vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contribution_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("author_audience", sa.String(length=20), nullable=False),
        sa.Column("author_academie_code", sa.String(length=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_academie_code"],
            ["academie.code"],
            name=op.f("fk_forum_vote_author_academie_code_academie"),
        ),
        sa.ForeignKeyConstraint(
            ["contribution_id"],
            ["forum_contribution.id"],
            name=op.f("fk_forum_vote_contribution_id_forum_contribution"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_forum_vote_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_vote")),
        sa.UniqueConstraint("contribution_id", "user_id", name="uq_forum_vote_contribution_user"),
    )
    with op.batch_alter_table("forum_vote", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forum_vote_author_academie_code"), ["author_academie_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_forum_vote_author_audience"), ["author_audience"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_forum_vote_user_id"), ["user_id"], unique=False)

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # French full-text search; queries repeat this exact expression (forums/search.py).
        op.execute(
            "CREATE INDEX ix_forum_contribution_fts ON forum_contribution "
            "USING gin (to_tsvector('french', title || ' ' || body))"
        )
    elif bind.dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    _seed()


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_forum_contribution_fts")
    elif bind.dialect.name == "sqlite":
        for name in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS forum_contribution_fts_{name}")
        op.execute("DROP TABLE IF EXISTS forum_contribution_fts")
    with op.batch_alter_table("forum_vote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forum_vote_user_id"))
        batch_op.drop_index(batch_op.f("ix_forum_vote_author_audience"))
        batch_op.drop_index(batch_op.f("ix_forum_vote_author_academie_code"))

    op.drop_table("forum_vote")
    with op.batch_alter_table("forum_comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forum_comment_parent_id"))
        batch_op.drop_index(batch_op.f("ix_forum_comment_held_for_review"))
        batch_op.drop_index("ix_forum_comment_contribution")
        batch_op.drop_index(batch_op.f("ix_forum_comment_author_id"))
        batch_op.drop_index(batch_op.f("ix_forum_comment_author_audience"))
        batch_op.drop_index(batch_op.f("ix_forum_comment_author_academie_code"))

    op.drop_table("forum_comment")
    with op.batch_alter_table("forum_contribution", schema=None) as batch_op:
        batch_op.drop_index("ix_forum_contribution_theme_wilson")
        batch_op.drop_index("ix_forum_contribution_theme_shuffle")
        batch_op.drop_index("ix_forum_contribution_theme_recent")
        batch_op.drop_index("ix_forum_contribution_theme_debate")
        batch_op.drop_index("ix_forum_contribution_subtheme_wilson")
        batch_op.drop_index(batch_op.f("ix_forum_contribution_held_for_review"))
        batch_op.drop_index(batch_op.f("ix_forum_contribution_author_id"))
        batch_op.drop_index(batch_op.f("ix_forum_contribution_author_audience"))
        batch_op.drop_index(batch_op.f("ix_forum_contribution_author_academie_code"))

    op.drop_table("forum_contribution")
    with op.batch_alter_table("forum_subtheme", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forum_subtheme_theme_id"))

    op.drop_table("forum_subtheme")
    op.drop_table("forum_theme")
