"""``flask synthesis compile`` (with a progress bar), ``status`` and ``export``."""

from __future__ import annotations

import sys
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from tqdm import tqdm

from consult.db import commit, db
from synthesis import catalog, engine, store

synthesis_group = AppGroup("synthesis", help="Synthèses : compilation et état.")


def register(app: Flask) -> None:
    app.cli.add_command(synthesis_group)


def parse_scope(value: str) -> catalog.Scope:
    """``national``, ``academie:16`` or ``region:76`` → a known scope (ClickException if not)."""
    value = (value or "").strip()
    if value == "national":
        return catalog.resolve_scope("national", "")
    kind, _sep, code = value.partition(":")
    if kind not in ("academie", "region") or not code:
        raise click.BadParameter(
            "attendu : national, academie:<code> ou region:<code>", param_hint="--scope"
        )
    try:
        return catalog.resolve_scope(kind, code)
    except catalog.UnknownScope as exc:
        raise click.BadParameter(str(exc), param_hint="--scope") from exc


@synthesis_group.command("compile", help="Compile les synthèses (national, régions, académies).")
@click.option(
    "--scope",
    "scope_values",
    multiple=True,
    help="national, academie:<code> ou region:<code> (répétable ; par défaut : tout).",
)
@click.option("--quiet", is_flag=True, help="Sans barre de progression.")
@click.option("--no-topics", is_flag=True, help="Sans analyse des textes libres.")
@click.option(
    "--no-warm",
    is_flag=True,
    help="Sans préparer les pages publiques et l’archive nationale après la compilation.",
)
@click.option(
    "--background",
    is_flag=True,
    help="Confie la compilation complète à la file d’attente (un worker l’exécute), "
    "comme le bouton « Recompiler ».",
)
def compile_command(
    scope_values: tuple[str, ...], quiet: bool, no_topics: bool, no_warm: bool, background: bool
) -> None:
    if background:
        if scope_values or no_topics or no_warm:
            raise click.UsageError(
                "--background compile tout : sans --scope, --no-topics, --no-warm"
            )
        _queue_compilation()
        return
    scopes = [parse_scope(v) for v in scope_values] or catalog.all_scopes()
    started = time.perf_counter()
    bar = tqdm(
        total=engine.steps_for(scopes),
        desc="Synthèses",
        unit="étape",
        file=sys.stderr,
        disable=quiet,
        leave=False,
    )

    def progress(label: str, n: int = 1) -> None:
        bar.set_postfix_str(label, refresh=False)
        bar.update(n)

    try:
        # The tables first, committed and usable; the topics of free texts after, apart.
        compilation = engine.compile_all(db.session, scopes=scopes, progress=progress, topics=False)
        commit()
    except Exception:
        db.session.rollback()
        raise
    finally:
        bar.close()
    elapsed = time.perf_counter() - started
    click.echo(
        f"Compilation {compilation.id} : {len(scopes)} territoires en {elapsed:.2f} s, "
        f"mémoire maximale {engine.peak_memory_mb():.0f} Mo."
    )
    if not no_topics:
        started = time.perf_counter()
        try:
            done, extracted = engine.compile_topics(db.session, compilation)
            commit()
        except Exception:
            db.session.rollback()
            raise
        click.echo(
            f"Thèmes des textes libres : {done} territoires dont {extracted} analysés "
            f"(les autres repris de la compilation précédente) en "
            f"{time.perf_counter() - started:.2f} s."
        )
    if not no_warm:
        # Visitors must never pay for a build: the pages and the national open-data archive
        # are prepared now, as the web « Recompiler » does.
        from synthesis import exports, views

        started = time.perf_counter()
        pages = views.warm_cache(current_app._get_current_object())
        archives = exports.warm(db.session, scopes=[exports.resolve_scope("national")])
        click.echo(
            f"Pages publiques préparées : {pages} ; archive nationale : "
            f"{'prête' if archives else 'absente'} ({time.perf_counter() - started:.2f} s)."
        )


def _queue_compilation() -> None:
    from sqlalchemy.exc import IntegrityError

    from synthesis import tasks
    from synthesis.models import QUEUED

    session = db.session
    try:
        marker = store.start(session, trigger="cli")
        marker.status = QUEUED
        session.flush()
        record = tasks.submit_compilation(session, marker)
        commit()
    except IntegrityError as exc:
        raise click.ClickException("une compilation est déjà en attente ou en cours") from exc
    click.echo(
        f"Compilation confiée à la file d’attente (tâche {record.id}) : "
        "`flask jobs status` pour la suivre."
    )


@synthesis_group.command("status", help="État de la dernière compilation.")
def status() -> None:
    latest = store.latest(db.session)
    if latest is None:
        click.echo("Aucune compilation terminée : lancez `flask synthesis compile`.")
        return
    scopes = len(latest.scopes)
    reference = "avec pondération" if latest.reference_id else "sans pondération"
    click.echo(
        f"Compilation {latest.id} ({latest.trigger}) terminée le "
        f"{latest.finished_at:%d/%m/%Y à %H:%M} UTC : {scopes} territoires, "
        f"{(latest.duration_ms or 0) / 1000:.2f} s, {latest.peak_memory_mb or 0:.0f} Mo, "
        f"{reference}."
    )


@synthesis_group.command("export", help="Écrit l’archive (zip) des tables d’un territoire.")
@click.option("--scope", "scope_value", default="national", show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.option("--detail", is_flag=True, help="Agrégats non masqués (analystes).")
def export_command(scope_value: str, out: str, detail: bool) -> None:
    from synthesis import exports

    scope = parse_scope(scope_value)
    bundle = exports.build_zip(db.session, scope.kind, scope.code, out, public=not detail)
    if bundle is None:
        raise click.ClickException("aucune synthèse compilée pour ce territoire")
    click.echo(f"{out} : {len(bundle.tables)} tables, compilation {bundle.compilation_id}.")
