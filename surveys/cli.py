"""``flask surveys load`` (definition file → database), ``flask surveys export`` and the answers
tally's repair and check (``rebuild-tallies``, ``check-tallies``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from consult.db import commit, db, utcnow
from surveys import engine, exports, services, tally

surveys_group = AppGroup("surveys", help="Questionnaire : définition et exports.")


def init_app(app: Flask) -> None:
    app.cli.add_command(surveys_group)


@surveys_group.command("load", help="Charge une définition (par défaut egn-2020.json).")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
def load(path: str | None) -> None:
    try:
        definition = engine.load_file(path or engine.default_path())
        questionnaire, changed = services.load_definition(db.session, definition, utcnow())
        commit()
    except (engine.DefinitionError, services.SurveyError) as exc:
        raise click.ClickException(str(exc)) from exc
    state = "chargé" if changed else "inchangé"
    click.echo(f"Questionnaire {questionnaire.slug} v{questionnaire.version} : {state}.")


@surveys_group.command("export", help="Exporte les réponses (ou le codebook) en flux.")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xlsx", "ods", "codebook"]), default="csv"
)
@click.option("--separator", type=click.Choice([",", ";"]), default=";")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Fichier (sinon stdout).")
def export(fmt: str, separator: str, output: str | None) -> None:
    questionnaire = services.current_questionnaire(db.session, current_app.config["SURVEY_SLUG"])
    if questionnaire is None:
        raise click.ClickException("Aucun questionnaire : lancez `flask surveys load`.")
    if fmt == "codebook":
        stream = exports.codebook_csv(questionnaire.definition, separator)
    else:
        stream = exports.build(db.session, questionnaire, fmt, separator)
    if output is None:
        for chunk in stream:
            sys.stdout.buffer.write(chunk)
        return
    with Path(output).open("wb") as target:
        for chunk in stream:
            target.write(chunk)


@surveys_group.command(
    "rebuild-tallies",
    help="Recompte les réponses (comptages tenus à jour à l'écriture) depuis leurs documents.",
)
def rebuild_tallies() -> None:
    # A repair: the triggers keep the counts exact; this recounts after a restore or a manual
    # change made with the triggers off. Submissions wait until it commits.
    rows = tally.rebuild(db.session)
    commit()
    click.echo(f"Comptages des réponses reconstruits : {rows} lignes.")


@surveys_group.command(
    "check-tallies", help="Compare les comptages tenus à jour avec un recomptage des réponses."
)
def check_tallies() -> None:
    wrong = tally.differences(db.session)
    if wrong:
        raise click.ClickException(
            f"{wrong} comptages diffèrent du recomptage : lancez `flask surveys rebuild-tallies`."
        )
    click.echo("Comptages des réponses exacts.")
