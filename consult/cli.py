"""Command line: database, territories, accounts and demo data."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_babel import force_locale
from sqlalchemy import select

from consult import migrate
from consult.db import commit, db


def init_app(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(init_command)
    app.cli.add_command(territories_group)
    app.cli.add_command(users_group)
    app.cli.add_command(demo_command)


@click.group("db", cls=AppGroup, help="Migrations de la base (Alembic).")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Amène la base à la dernière version (ou à REVISION).")
@click.argument("revision", default="heads")
def db_upgrade(revision: str) -> None:
    migrate.upgrade(revision)


@db_group.command("downgrade", help="Revient à la révision REVISION (par ex. -1 ou base).")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    migrate.downgrade(revision)


@db_group.command("current", help="Affiche la révision courante.")
def db_current() -> None:
    migrate.current()


@db_group.command(
    "recount",
    help="Recompte les compteurs publics (forums, idées) à partir des contenus et réécrit "
    "leurs déclencheurs (après un changement de règle de visibilité).",
)
def db_recount() -> None:
    import time

    from consult import tallies

    started = time.perf_counter()
    tallies.rebuild(db.session.connection())
    commit()
    click.echo(f"Compteurs publics recomptés en {time.perf_counter() - started:.1f} s.")


@db_group.command("revision", help="Crée une migration (autogenerate par défaut).")
@click.option("-m", "--message", required=True)
@click.option("--empty", is_flag=True, help="Sans comparaison avec les modèles.")
@click.option(
    "--head",
    default="0001_core@head",
    show_default=True,
    help="Révision parente, par ex. forums@head pour la branche d'un paquet.",
)
@click.option("--branch-label", default=None, help="Nouvelle branche (nom du paquet).")
@click.option("--rev-id", default=None, help="Identifiant lisible, par ex. 0101_forums.")
def db_revision(
    message: str, empty: bool, head: str | None, branch_label: str | None, rev_id: str | None
) -> None:
    try:
        migrate.revision(message, not empty, head, branch_label, rev_id)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


@click.group("territories", cls=AppGroup, help="Référentiel territorial 2020.")
def territories_group() -> None:
    pass


@territories_group.command("load", help="Charge ou met à jour le référentiel (idempotent).")
def territories_load() -> None:
    _load_territories()


def _load_territories() -> None:
    from consult.territories import load_territories

    changed = load_territories(db.session)
    commit()
    click.echo(
        "Territoires : {regions} régions académiques, {academies} académies, "
        "{departements} départements créés ou mis à jour.".format(**changed)
    )


@click.command("init", help="Initialise la base : migrations puis référentiel territorial.")
@with_appcontext
def init_command() -> None:
    migrate.upgrade("heads")
    _load_territories()


@click.group("users", cls=AppGroup, help="Comptes et rôles.")
def users_group() -> None:
    pass


@users_group.command("create-admin", help="Crée un compte administrateur.")
@click.option("--pseudonym", prompt="Pseudonyme")
@click.option("--email", prompt="Adresse électronique")
@click.option("--academie", default="01", show_default=True, help="Code de l'académie.")
@click.password_option("--password", prompt="Mot de passe")
def create_admin(pseudonym: str, email: str, academie: str, password: str) -> None:
    from consult.accounts import services
    from consult.models import Audience
    from consult.security import normalise_email, password_problem, pseudonym_problem

    with force_locale("fr"):
        problems = [
            pseudonym_problem(pseudonym),
            password_problem(password, pseudonym, email),
        ]
        try:
            email = normalise_email(email)
        except ValueError:
            problems.append("Adresse électronique invalide.")
        problems = [p for p in problems if p]
        if problems:
            raise click.ClickException(" ".join(problems))
        try:
            user = services.register(
                db.session,
                services.ProfileData(
                    pseudonym=pseudonym, audience=Audience.AUTRE.value, academie_code=academie
                ),
                email,
                password,
            )
            services.grant_role(db.session, user, "admin")
        except services.AccountError as exc:
            raise click.ClickException(exc.message) from exc
    commit()
    click.echo(f"Administrateur « {pseudonym} » créé.")


@users_group.command("grant", help="Attribue un rôle : moderator, coordinator, analyst, admin.")
@click.argument("pseudonym")
@click.argument("role", type=click.Choice(["moderator", "coordinator", "analyst", "admin"]))
@click.option("--academie", help="Code d'académie (coordinateur).")
@click.option("--region", help="Code de région académique (coordinateur).")
def grant(pseudonym: str, role: str, academie: str | None, region: str | None) -> None:
    from consult.accounts import services
    from consult.models import User
    from consult.security import fold

    user = db.session.scalar(select(User).where(User.pseudonym_key == fold(pseudonym)))
    if user is None or not user.is_active:
        raise click.ClickException(f"Aucun compte actif « {pseudonym} ».")
    kind, code = ("national", "")
    if academie and region:
        raise click.ClickException("Choisissez --academie ou --region, pas les deux.")
    if academie:
        kind, code = "academie", academie
    elif region:
        kind, code = "region", region
    with force_locale("fr"):
        try:
            services.grant_role(db.session, user, role, kind, code)
        except services.AccountError as exc:
            raise click.ClickException(exc.message) from exc
    commit()
    click.echo(f"Rôle {role} attribué à « {user.pseudonym} ».")


@users_group.command("revoke", help="Retire un rôle.")
@click.argument("pseudonym")
@click.argument("role", type=click.Choice(["moderator", "coordinator", "analyst", "admin"]))
def revoke(pseudonym: str, role: str) -> None:
    from consult.accounts import services
    from consult.models import User
    from consult.security import fold

    user = db.session.scalar(select(User).where(User.pseudonym_key == fold(pseudonym)))
    if user is None:
        raise click.ClickException(f"Aucun compte « {pseudonym} ».")
    grants = [g for g in user.grants if g.role == role]
    for item in grants:
        services.revoke_role(db.session, item)
    commit()
    click.echo(f"{len(grants)} attribution(s) retirée(s).")


@click.command("demo", help="Génère des données de démonstration reproductibles.")
@click.option(
    "--scale", type=click.Choice(["tiny", "egn", "gd"]), default="tiny", show_default=True
)
@click.option("--seed", default=2020, show_default=True, type=int)
@click.option("--if-empty", is_flag=True, help="Ne fait rien si des comptes existent déjà.")
@with_appcontext
def demo_command(scale: str, seed: int, if_empty: bool) -> None:
    from consult import demo

    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("Les données de démonstration sont interdites en production.")
    if if_empty and demo.has_accounts(db.session):
        click.echo("Des comptes existent déjà : données de démonstration non générées.")
        return
    with force_locale("fr"):
        summary = demo.generate(scale, seed)
    for line in summary:
        click.echo(line)
