"""Downloads of the synthesis tables: a page per scope, one file per table and format, a zip.

Public files carry only suppressed aggregates; ``?detail=1`` asks for the unsuppressed ones and
needs ``Permission.EXPORT_DETAILED`` (a visitor asking gets a 403, never public data in its
place). Files come from the per-compilation cache in ``exports``.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, render_template, request, send_file, url_for
from flask_babel import gettext as _

from consult import csvout
from consult.db import db
from consult.permissions import can
from consult.territories import Scope
from consult.web import ConsultError, refuse
from synthesis import exports
from synthesis.blueprint import bp
from synthesis.permissions import Permission

PUBLIC_MAX_AGE = 300
FORMAT_LABELS = {
    "csv": "CSV",
    "xlsx": "Excel (XLSX)",
    "ods": "LibreOffice (ODS)",
    "json": "JSON",
    "parquet": "Parquet",
}


class _Refusal(ConsultError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message, code)


def _scope(kind: str, ident: str) -> Scope:
    scope = exports.resolve_scope(kind, ident) if kind in exports.SCOPE_KINDS else None
    if scope is None:
        raise _Refusal(404, _("Ce territoire n'existe pas : aucune synthèse à télécharger."))
    return scope


def _public() -> bool:
    """False for ``?detail=1`` (analysts only), True without it."""
    detail = request.args.get("detail")
    if detail in (None, "", "0"):
        return True
    if detail != "1":
        raise _Refusal(400, _("Le paramètre « detail » vaut 1 ou est absent."))
    if not can(Permission.EXPORT_DETAILED):
        raise _Refusal(
            403,
            _(
                "Les données détaillées, non masquées, sont réservées aux analystes. "
                "Les téléchargements publics restent disponibles sans ce paramètre."
            ),
        )
    return False


def _files(scope: Scope, public: bool) -> exports.ExportSet:
    files = exports.export_set(db.session, scope, public=public)
    if files is not None:
        return files
    if exports.latest_compilation(db.session) is None:
        raise _Refusal(
            404,
            _(
                "Aucune synthèse n'a encore été compilée : les téléchargements seront disponibles "
                "après la première compilation."
            ),
        )
    raise _Refusal(404, _("La dernière compilation ne comprend pas ce territoire."))


def scope_args(scope: Scope) -> dict[str, str]:
    return {"kind": scope.kind, "ident": scope.slug}


def export_url(endpoint: str, scope: Scope, **values: Any) -> str:
    return url_for(f"synthesis.{endpoint}", **scope_args(scope), **values)


def _send(path, filename: str, mimetype: str, public: bool) -> Response:
    response = send_file(
        path,
        mimetype=mimetype,
        as_attachment=True,
        download_name=filename,
        conditional=True,
        max_age=PUBLIC_MAX_AGE if public else None,
    )
    # send_file appends its own charset to a text type that already names one.
    response.headers["Content-Type"] = mimetype
    if public:
        response.headers["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
    else:
        # Unsuppressed figures: never kept by a shared cache.
        response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/syntheses/export/national/", defaults={"kind": "national", "ident": ""})
@bp.route("/syntheses/export/<kind>/<ident>/")
def export_page(kind: str, ident: str):
    try:
        scope = _scope(kind, ident)
        public = _public()
        files = _files(scope, public)
        detailed_allowed = can(Permission.EXPORT_DETAILED)
    except _Refusal as refusal:
        return refuse(refusal)
    docs = exports.table_docs()
    tables = [
        {
            "name": name,
            "doc": docs.get(name) or exports.TableDoc(name, name, ""),
            "rows": files.rows.get(name, 0),
            "files": [
                {
                    "fmt": fmt,
                    "label": FORMAT_LABELS[fmt],
                    "short": fmt.upper() if fmt != "parquet" else "Parquet",
                    "size": exports.human_size(files.size(name, fmt)),
                    "url": export_url(
                        "export_table",
                        scope,
                        table=name,
                        fmt=fmt,
                        **({} if public else {"detail": "1"}),
                    ),
                }
                for fmt in exports.FORMATS
            ],
        }
        for name in files.tables
    ]
    if scope.kind == "national":
        back = ("synthesis.index", {})
    else:
        back = ("synthesis.territory", {"kind": scope.kind, "slug": scope.slug})
    return render_template(
        "synthesis/exports.html",
        scope=scope,
        public=public,
        files=files,
        tables=tables,
        zip_url=export_url("export_zip", scope, **({} if public else {"detail": "1"})),
        zip_size=exports.human_size(files.zip_size),
        detailed_allowed=detailed_allowed,
        other_variant_url=export_url("export_page", scope, **({"detail": "1"} if public else {})),
        back_url=url_for(back[0], **back[1]) if back[0] in current_app.view_functions else None,
        threshold=exports.SUPPRESSION_THRESHOLD,
        suppressed_text=exports.SUPPRESSED_TEXT,
        licence=exports.LICENCE,
        licence_url=exports.LICENCE_URL,
    )


@bp.route("/syntheses/export/national/<table>.<fmt>", defaults={"kind": "national", "ident": ""})
@bp.route("/syntheses/export/<kind>/<ident>/<table>.<fmt>")
def export_table(kind: str, ident: str, table: str, fmt: str):
    try:
        scope = _scope(kind, ident)
        if fmt not in exports.FORMATS:
            raise _Refusal(
                404,
                _(
                    "Format inconnu : les tables se téléchargent en CSV, XLSX, ODS, JSON ou "
                    "Parquet."
                ),
            )
        if table not in exports.table_docs():
            raise _Refusal(404, _("Cette table de synthèse n'existe pas."))
        public = _public()
        files = _files(scope, public)
        if table not in files.tables:
            raise _Refusal(404, _("Cette table de synthèse n'existe pas."))
    except _Refusal as refusal:
        return refuse(refusal)
    path = files.table_path(table, fmt)
    if fmt == "csv" and csvout.separator(request.args) != csvout.SEMICOLON:
        # The cached file is the French-spreadsheet default; scripts asking for « , » get the
        # same cells re-delimited, as every other CSV download of the platform does.
        cache = f"public, max-age={PUBLIC_MAX_AGE}" if public else "private, no-store"
        return csvout.response(
            csvout.restream(path, csvout.COMMA),
            files.filename(table, fmt),
            Cache_Control=cache,
        )
    return _send(path, files.filename(table, fmt), exports.FORMATS[fmt], public)


@bp.route("/syntheses/export/national.zip", defaults={"kind": "national", "ident": ""})
@bp.route("/syntheses/export/<kind>/<ident>.zip")
def export_zip(kind: str, ident: str):
    try:
        scope = _scope(kind, ident)
        public = _public()
        files = _files(scope, public)
    except _Refusal as refusal:
        return refuse(refusal)
    return _send(files.zip_path, files.zip_filename, exports.ZIP_MIMETYPE, public)


def download_links(kind: str, code: str = "") -> dict[str, Any] | None:
    """Links for the ``synthesis/_downloads.html`` partial (a template global): no file is
    built here, so a synthesis page never pays for its exports."""
    scope = exports.resolve_scope(kind, code)
    if scope is None:
        return None
    return {
        "scope": scope,
        "page": export_url("export_page", scope),
        "zip": export_url("export_zip", scope),
        "detailed": export_url("export_page", scope, detail="1")
        if can(Permission.EXPORT_DETAILED)
        else None,
    }
