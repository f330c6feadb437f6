"""Synthesis tables as open-data files: CSV, XLSX, ODS, JSON, Parquet and a zip of everything.

Files are built from a compilation's stored tables (never from the consultation tables), into a
temporary directory then moved into a cache keyed by the compilation, so repeated downloads read
a file from disk. Public files carry only suppressed aggregates (``store.load(public=True)``);
detailed ones are for analysts. Every text cell goes through ``mask_personal_data`` on the way
out, so an email or phone number that slipped into a title or quote never reaches a file.

The spreadsheet writers are the questionnaire's hand-written streaming ones.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from flask import current_app, has_app_context
from flask_babel import force_locale, get_locale
from sqlalchemy.orm import Session, object_session

from consult import csvout, territories
from consult.api import SUPPRESSION_THRESHOLD
from consult.models import Audience
from consult.territories import Scope, catalog
from consult.text import mask_personal_data
from surveys.exports import write_ods, write_xlsx
from synthesis import catalog as syn
from synthesis import privacy, store
from synthesis.models import Compilation

FORMATS: dict[str, str] = {
    "csv": csvout.CONTENT_TYPE,
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}
ZIP_MIMETYPE = "application/zip"
SUPPRESSED_TEXT = csvout.SUPPRESSED_TEXT
SUPPRESSED_COLUMN = "suppressed"
LICENCE = "Licence Ouverte / Open Licence version 2.0 (Etalab)"
LICENCE_URL = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
# The workbook's sheet describing every column, beside the tables themselves.
COLUMNS_SHEET = "colonnes"
SCOPE_KINDS = ("national", "region", "academie")


# --- Scopes -------------------------------------------------------------------------------------


def file_stem(scope: Scope) -> str:
    """ASCII, no spaces: « synthese-nationale », « synthese-academie-aix-marseille »."""
    if scope.kind == "national":
        return "synthese-nationale"
    return safe_filename(f"synthese-{scope.kind}-{scope.slug}")


def safe_filename(name: str) -> str:
    """Only [a-z0-9._-], so the Content-Disposition header needs no quoting or encoding."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", name.lower())
    cleaned = re.sub(r"\.{2,}", ".", cleaned).strip("-.")
    return cleaned or "synthese"


def resolve_scope(kind: str, ident: str = "") -> Scope | None:
    """A scope from its kind and its code or slug (both accepted, the kind disambiguates the
    seven régions that share their académie's slug)."""
    return territories.resolve_scope(kind, ident)


def all_scopes() -> list[Scope]:
    """The nation, then the régions and the académies, each in alphabetical order."""
    cat = catalog()
    scopes = [territories.scope_of("national", "")]
    scopes += [territories.scope_of("region", r.code) for r in cat.regions_sorted()]
    scopes += [territories.scope_of("academie", a.code) for a in cat.academies_sorted()]
    return [s for s in scopes if s is not None]


# --- Table documentation (from the catalog) ----------------------------------------------------


@dataclass(frozen=True)
class ColumnDoc:
    key: str
    label: str
    description: str = ""
    type: str = ""  # int, float, str, bool, list; "" = inferred from the values
    # A figure (count, share, score): blanked when its row is suppressed.
    figure: bool = False
    # Written by people (titles, quotes, keywords): guarded against formulas in CSV.
    text: bool = False


@dataclass(frozen=True)
class TableDoc:
    name: str
    title: str
    description: str
    columns: tuple[ColumnDoc, ...] = field(default_factory=tuple)

    def column(self, key: str) -> ColumnDoc:
        for column in self.columns:
            if column.key == key:
                return column
        if key == SUPPRESSED_COLUMN:
            return ColumnDoc(
                key,
                "Masqué",
                f"Vrai quand la ligne repose sur moins de {SUPPRESSION_THRESHOLD} personnes : "
                "ses chiffres sont alors masqués.",
                "bool",
            )
        return ColumnDoc(key, key)


_KIND_TEXT = {
    "dim": "dimension",
    "count": "nombre entier",
    "share": "part entre 0 et 1",
    "score": "nombre décimal",
    "text": "texte",
}
_KIND_TYPES = {"count": "int", "share": "float", "score": "float"}


def _values_note(table: str, column: str) -> str:
    """The values a dimension takes, when they are codes a reader cannot guess."""

    def listing(labels: dict[str, Any]) -> str:
        return ", ".join(f"{key} = {label}" for key, label in labels.items())

    if column == "audience":
        labels = {a.value: a.label for a in Audience}
        return f"{listing(labels)}, * = tous les publics"
    if column == "indicator":
        keys = syn.FORUM_INDICATORS if table == "forum_themes" else syn.PARTICIPATION_INDICATORS
        return listing({key: syn.INDICATOR_LABELS[key] for key in keys})
    if column == "day":
        return "date au format AAAA-MM-JJ"
    if column == "ranking":
        return listing(syn.RANKING_LABELS)
    if column == "label":
        return listing(syn.CONSENSUS_LABELS)
    if column == "corpus":
        return listing(syn.CORPUS_LABELS)
    if column == "dimension":
        return listing(syn.RETEX_DIMENSION_LABELS)
    if column == "academie_code":
        return "code de l'académie (référentiel 2020, API /api/v1/territories), * = total"
    if column in ("theme_slug", "subtheme_slug"):
        return "identifiant du thème ou sous-thème des forums, * = total"
    if column == "people":
        return "nombre de personnes distinctes derrière la ligne (base de la règle des 10)"
    if column.endswith("_ref"):
        return "« contribution:123 », « comment:45 », « idea:6 »… : l'élément cité"
    return ""


# Built once per locale: labels are lazy strings, and resolving them for every row would cost
# more than writing the files.
_DOCS: dict[str, dict[str, TableDoc]] = {}


def table_docs() -> dict[str, TableDoc]:
    """Every table the engine produces, in catalog order, with its columns' labels."""
    locale = str(get_locale() or "fr") if has_app_context() else "fr"
    docs = _DOCS.get(locale)
    if docs is None:
        docs = _DOCS[locale] = _build_docs()
    return docs


def _build_docs() -> dict[str, TableDoc]:
    docs: dict[str, TableDoc] = {}
    for name, spec in syn.TABLES.items():
        columns = []
        for column in spec.columns:
            note = _values_note(name, column.name)
            description = _KIND_TEXT.get(column.kind, "") + (f" ; {note}" if note else "")
            columns.append(
                ColumnDoc(
                    key=column.name,
                    label=str(column.label),
                    description=description,
                    type=_KIND_TYPES.get(column.kind, ""),
                    figure=column.kind in syn.FIGURE_KINDS,
                    text=column.kind == "text",
                )
            )
        docs[name] = TableDoc(name, str(spec.title), str(spec.description), tuple(columns))
    return docs


def table_doc(name: str) -> TableDoc:
    return table_docs().get(name) or TableDoc(name, name, "")


# --- Loading a scope's tables -------------------------------------------------------------------


@dataclass
class Bundle:
    """One scope's tables from one compilation, public (suppressed) or detailed."""

    scope: Scope
    compilation_id: int
    compiled_at: dt.datetime | None
    public: bool
    tables: dict[str, pd.DataFrame]
    # Plain rows per table, converted once: every format reads them (aggregates, small).
    _records: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    _display: dict[str, list[list[Any]]] = field(default_factory=dict, repr=False)

    def metadata(self) -> dict[str, Any]:
        return {
            "scope": {"kind": self.scope.kind, "code": self.scope.code, "name": self.scope.label},
            "compilation_id": self.compilation_id,
            "compiled_at": _iso(self.compiled_at),
            "public": self.public,
            "suppression_threshold": SUPPRESSION_THRESHOLD,
            "licence": LICENCE,
            "licence_url": LICENCE_URL,
        }


def latest_compilation(session: Session) -> Compilation | None:
    return store.latest(session)


def load_bundle(
    session: Session,
    scope: Scope,
    *,
    public: bool,
    compilation: Compilation | None = None,
    only: str | None = None,
) -> Bundle | None:
    """A scope's tables (or just the table ``only``: the API suppresses the one it serves,
    not all thirteen)."""
    compilation = compilation or store.latest(session)
    if compilation is None:
        return None
    if only is None:
        tables = store.load(session, scope.kind, scope.code, public=public, compilation=compilation)
    else:
        tables = _load_one(session, scope, only, public, compilation)
    if tables is None:
        return None
    order = list(table_docs())
    ordered = {name: tables[name] for name in order if name in tables}
    ordered.update({name: df for name, df in tables.items() if name not in ordered})
    return Bundle(
        scope=scope,
        compilation_id=compilation.id,
        compiled_at=compilation.finished_at or compilation.started_at,
        public=public,
        tables=ordered,
    )


def _load_one(
    session: Session, scope: Scope, name: str, public: bool, compilation: Compilation
) -> dict[str, pd.DataFrame] | None:
    # store.load itself, for one table: suppression and the visibility check on the way out
    # stay in one place.
    if name not in syn.TABLES:
        return None
    return store.load(
        session, scope.kind, scope.code, public=public, compilation=compilation, tables=[name]
    )


def row_counts(session: Session, scope: Scope, compilation: Compilation) -> dict[str, int] | None:
    """Rows per public table (the disclosure control completes breakdowns with zero rows; its
    tables are cached per compilation, so this is cheap after the first reader)."""
    row = store.scope_row(session, scope.kind, scope.code, compilation)
    if row is None:
        return None
    return {name: len(store.public_table(row, name)) for name in syn.TABLES}


# --- Cells --------------------------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    return None if value is None else csvout.iso(value)


def _plain(value: Any) -> Any:
    """A JSON-friendly Python value: NaN/NA → None, numpy scalars → int/float, dates → ISO,
    text masked."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.date):
        return _iso(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return [_plain(v) for v in value.tolist()]
    return mask_personal_data(str(value)) if value != "" else ""


def columns_of(bundle: Bundle, name: str) -> list[str]:
    """The catalog's column order, then any extra column, ``suppressed`` last."""
    df = bundle.tables[name]
    declared = [c.key for c in table_doc(name).columns if c.key in df.columns]
    rest = [c for c in df.columns if c not in declared and c != SUPPRESSED_COLUMN]
    columns = declared + rest
    if SUPPRESSED_COLUMN in df.columns:
        columns.append(SUPPRESSED_COLUMN)
    return columns


def records(bundle: Bundle, name: str) -> list[dict[str, Any]]:
    """Rows as dictionaries; suppressed figures are None (JSON null)."""
    cached = bundle._records.get(name)
    if cached is None:
        columns = columns_of(bundle, name)
        df = bundle.tables[name]
        cached = bundle._records[name] = [
            {key: _plain(value) for key, value in zip(columns, row, strict=True)}
            for row in df[columns].itertuples(index=False, name=None)
        ]
    return cached


def display_rows(bundle: Bundle, name: str) -> list[list[Any]]:
    """Rows for CSV and spreadsheets: a suppressed figure reads « < 10 », lists are joined,
    the suppressed flag is 1/0."""
    cached = bundle._display.get(name)
    if cached is not None:
        return cached
    columns = columns_of(bundle, name)
    flag = columns.index(SUPPRESSED_COLUMN) if SUPPRESSED_COLUMN in columns else None
    doc = table_doc(name)
    figures = [doc.column(c).figure for c in columns]
    cached = bundle._display[name] = []
    for record in records(bundle, name):
        row = list(record.values())
        hidden = flag is not None and bool(row[flag])
        cells: list[Any] = []
        for index, value in enumerate(row):
            if index == flag:
                cells.append(int(bool(value)))
            elif value is None:
                cells.append(SUPPRESSED_TEXT if hidden and figures[index] else "")
            elif isinstance(value, list):
                cells.append(", ".join("" if v is None else str(v) for v in value))
            else:
                cells.append(value)
        cached.append(cells)
    return cached


# --- Writers ------------------------------------------------------------------------------------


def csv_chunks(bundle: Bundle, name: str) -> Iterator[bytes]:
    """The shared CSV conventions (``consult.csvout``); first row = column keys (stable for
    scripts; their labels are in the README and the workbook)."""
    return csvout.stream(columns_of(bundle, name), display_rows(bundle, name))


def write_csv(path: Path, bundle: Bundle, name: str) -> None:
    with open(path, "wb") as handle:
        for chunk in csv_chunks(bundle, name):
            handle.write(chunk)


def json_document_chunks(bundle: Bundle, name: str) -> Iterator[str]:
    """{metadata, table, columns, rows: [records]} written record by record."""
    doc = table_doc(name)
    head = {
        **bundle.metadata(),
        "table": name,
        "title": doc.title,
        "description": doc.description,
        "columns": [
            {"key": c, "label": doc.column(c).label, "description": doc.column(c).description}
            for c in columns_of(bundle, name)
        ],
    }
    opening = json.dumps(head, ensure_ascii=False)
    yield opening[:-1] + ', "rows": ['
    for index, record in enumerate(records(bundle, name)):
        yield ("," if index else "") + json.dumps(record, ensure_ascii=False)
    yield "]}"


def write_json(path: Path, bundle: Bundle, name: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for chunk in json_document_chunks(bundle, name):
            handle.write(chunk)


_ARROW_TYPES = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "str": pa.string(),
    "list": pa.list_(pa.string()),
}


def _arrow_type(values: list[Any], declared: str) -> pa.DataType:
    if declared in _ARROW_TYPES:
        return _ARROW_TYPES[declared]
    present = [v for v in values if v is not None]
    if not present:
        return pa.string()
    if all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pa.float64()
    if all(isinstance(v, list) for v in present):
        return pa.list_(pa.string())
    return pa.string()


def _coerce(values: list[Any], kind: pa.DataType) -> list[Any]:
    if kind == pa.string():
        return [None if v is None else (v if isinstance(v, str) else str(v)) for v in values]
    if kind == pa.float64():
        return [None if v is None else float(v) for v in values]
    if kind == pa.list_(pa.string()):
        return [None if v is None else [None if x is None else str(x) for x in v] for v in values]
    return values


def arrow_table(bundle: Bundle, name: str) -> pa.Table:
    """Typed columns (integers stay integers even when some cells are suppressed), suppressed
    cells null; the table and scope metadata ride in the schema metadata."""
    columns = columns_of(bundle, name)
    doc = table_doc(name)
    rows = list(records(bundle, name))
    arrays, fields = [], []
    for key in columns:
        values = [row[key] for row in rows]
        kind = _arrow_type(values, doc.column(key).type)
        arrays.append(pa.array(_coerce(values, kind), type=kind))
        fields.append(
            pa.field(key, kind, metadata={"label": doc.column(key).label.encode("utf-8")})
        )
    metadata = {**bundle.metadata(), "table": name, "title": doc.title}
    schema = pa.schema(
        fields, metadata={"consult": json.dumps(metadata, ensure_ascii=False).encode("utf-8")}
    )
    return pa.Table.from_arrays(arrays, schema=schema)


def write_parquet(path: Path, bundle: Bundle, name: str) -> None:
    pq.write_table(arrow_table(bundle, name), path, compression="zstd")


def _columns_sheet_rows(bundle: Bundle, names: Iterable[str]) -> Iterator[list[Any]]:
    for name in names:
        doc = table_doc(name)
        for key in columns_of(bundle, name):
            column = doc.column(key)
            yield [name, key, column.label, column.description]


def write_workbook(path: Path, bundle: Bundle, names: list[str], fmt: str) -> None:
    """One sheet per table plus a « colonnes » sheet describing every column."""
    sheets = [
        (_sheet_title(name), columns_of(bundle, name), display_rows(bundle, name)) for name in names
    ]
    sheets.append(
        (
            COLUMNS_SHEET,
            ["table", "colonne", "libelle", "description"],
            _columns_sheet_rows(bundle, names),
        )
    )
    (write_xlsx if fmt == "xlsx" else write_ods)(str(path), sheets)


def _sheet_title(name: str) -> str:
    # Spreadsheet sheet names are at most 31 characters.
    return name[:31]


def write_table(path: Path, bundle: Bundle, name: str, fmt: str) -> None:
    if fmt == "csv":
        write_csv(path, bundle, name)
    elif fmt == "json":
        write_json(path, bundle, name)
    elif fmt == "parquet":
        write_parquet(path, bundle, name)
    elif fmt in ("xlsx", "ods"):
        write_workbook(path, bundle, [name], fmt)
    else:
        raise ValueError(fmt)


# --- README -------------------------------------------------------------------------------------


def readme(bundle: Bundle) -> str:
    scope = bundle.scope
    when = bundle.compiled_at.strftime("%d/%m/%Y à %H:%M UTC") if bundle.compiled_at else "?"
    stem = file_stem(scope)
    lines = [
        f"# Synthèses de la consultation — {scope.label}",
        "",
        "États généraux du numérique pour l'éducation : agrégats compilés à partir des "
        "contributions, votes, commentaires, idées, réponses au questionnaire et fiches Retex.",
        "",
        f"- Compilation n° {bundle.compilation_id} du {when}.",
        f"- Périmètre : {scope.label}" + (f" (code {scope.code})." if scope.code else "."),
        f"- Licence : {LICENCE} — {LICENCE_URL}",
        "",
        "## Règle de confidentialité",
        "",
    ]
    if bundle.public:
        lines += [
            f"Toute ligne qui repose sur moins de {SUPPRESSION_THRESHOLD} personnes distinctes "
            "est masquée. Les autres effectifs qui portent sur des personnes ou leurs actes "
            "(participants, votes, réponses, toute répartition par public, territoire ou jour) "
            f"sont légèrement perturbés, de {privacy.D} au plus, toujours de la même façon pour "
            "le même chiffre où qu'il paraisse : un total peut donc différer de la somme de ses "
            "parties. Les parts sont calculées sur les effectifs publiés. Les chiffres sur le "
            "contenu public (contributions, votes et commentaires de toute la consultation, "
            "fiches Retex publiées) sont exacts. "
            f"Une ligne masquée a la colonne `{SUPPRESSED_COLUMN}` à 1 (vrai) ; ses chiffres "
            f"valent « {SUPPRESSED_TEXT} » dans les fichiers CSV, XLSX et ODS, et sont vides "
            "(null) dans les fichiers JSON et Parquet.",
            "",
            "Aucune donnée personnelle : ni adresse électronique, ni téléphone, ni pseudonyme "
            "relié à une adresse. Les citations des thèmes viennent uniquement de contenus "
            "publiés et non masqués par la modération.",
        ]
    else:
        lines += [
            "**Export détaillé, réservé aux analystes : les agrégats ne sont pas masqués.** "
            f"Ne pas publier : les chiffres reposant sur moins de {SUPPRESSION_THRESHOLD} "
            "personnes y figurent. Il ne contient aucune donnée personnelle.",
        ]
    lines += [
        "",
        "## Fichiers",
        "",
        "- `csv/<table>.csv` : UTF-8 avec BOM, séparateur « ; », première ligne = noms des "
        "colonnes ; un texte libre qui commence par =, +, - ou @ y est précédé d'une "
        "apostrophe, pour qu'un tableur ne l'exécute pas comme une formule ;",
        "- `parquet/<table>.parquet` : colonnes typées (entiers, décimaux, texte) ;",
        "- `json/<table>.json` : métadonnées de la compilation, description des colonnes et "
        "lignes (`rows`) ;",
        f"- `{stem}.xlsx` et `{stem}.ods` : un onglet par table et un onglet "
        f"« {COLUMNS_SHEET} » qui décrit chaque colonne.",
        "",
        "Dans toutes les tables, la valeur `*` d'une dimension (public, thème, sous-thème, "
        "académie…) désigne le total de cette dimension.",
        "",
        "## Tables",
        "",
    ]
    for name, df in bundle.tables.items():
        doc = table_doc(name)
        lines += [f"### `{name}` — {doc.title}", ""]
        if doc.description:
            lines += [doc.description, ""]
        lines += [f"{len(df)} ligne(s).", "", "| colonne | libellé | description |"]
        lines.append("|---|---|---|")
        for key in columns_of(bundle, name):
            column = doc.column(key)
            cells = [f"`{key}`", column.label, column.description]
            lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# --- The zip and the per-compilation cache ------------------------------------------------------


def table_filename(bundle: Bundle, name: str, fmt: str) -> str:
    suffix = "" if bundle.public else "-detail"
    return safe_filename(f"{file_stem(bundle.scope)}-{name}{suffix}.{fmt}")


def zip_filename(bundle: Bundle) -> str:
    suffix = "" if bundle.public else "-detail"
    return safe_filename(f"{file_stem(bundle.scope)}{suffix}.zip")


def write_zip(path: Path, bundle: Bundle, written: Path | None = None) -> None:
    """README, every table as CSV, JSON and Parquet, and one XLSX and one ODS workbook. Each
    member is written to a scratch file then copied in, so memory holds one table at most;
    ``written`` is a directory already holding ``<fmt>/<table>.<fmt>`` files to reuse."""
    stem = file_stem(bundle.scope)
    names = list(bundle.tables)
    with (
        tempfile.TemporaryDirectory(prefix="consult-synthesis-") as scratch,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        archive.writestr("README.md", readme(bundle))
        for name in names:
            for fmt in ("csv", "json", "parquet"):
                if written is not None:
                    archive.write(written / fmt / f"{name}.{fmt}", f"{fmt}/{name}.{fmt}")
                    continue
                member = Path(scratch) / f"{name}.{fmt}"
                write_table(member, bundle, name, fmt)
                archive.write(member, f"{fmt}/{name}.{fmt}")
                member.unlink()
        for fmt in ("xlsx", "ods"):
            member = Path(scratch) / f"{stem}.{fmt}"
            write_workbook(member, bundle, names, fmt)
            # Workbooks are zips already: stored, not deflated twice.
            archive.write(member, f"{stem}.{fmt}", compress_type=zipfile.ZIP_STORED)
            member.unlink()


def build_zip(
    session: Session, kind: str, code: str, path: str | os.PathLike, public: bool = True
) -> Bundle | None:
    """Write the zip of a scope's latest compilation to ``path`` (for ``flask synthesis
    export``). None when the scope is unknown or nothing has been compiled."""
    scope = resolve_scope(kind, code)
    if scope is None:
        return None
    bundle = load_bundle(session, scope, public=public)
    if bundle is None:
        return None
    with force_locale("fr"):
        write_zip(Path(path), bundle)
    return bundle


def export_root() -> Path:
    configured = current_app.config.get("SYNTHESIS_EXPORT_DIR")
    return Path(configured or Path(current_app.instance_path) / "synthesis-exports")


def compilation_key(compilation: Any) -> str:
    """Unique per compilation and per database: ids restart in a new database (or a rolled
    back test), so the key also hashes the database URL and the compilation's timestamps."""
    session = object_session(compilation)
    bind = session.get_bind() if session is not None else None
    url = str(getattr(bind, "engine", bind).url) if bind is not None else ""
    stamp = f"{url}|{compilation.started_at}|{store.version(compilation)}"
    digest = hashlib.sha256(stamp.encode()).hexdigest()[:12]
    return f"c{compilation.id}-{digest}"


@dataclass(frozen=True)
class ExportSet:
    """A scope's files for one compilation, on disk: per-table files and the zip."""

    directory: Path
    scope: Scope
    public: bool
    compilation_id: int
    compiled_at: dt.datetime | None
    tables: tuple[str, ...]
    rows: dict[str, int]
    stem: str

    def table_path(self, name: str, fmt: str) -> Path:
        return self.directory / fmt / f"{name}.{fmt}"

    @property
    def zip_path(self) -> Path:
        return self.directory / "all.zip"

    def size(self, name: str, fmt: str) -> int:
        return self.table_path(name, fmt).stat().st_size

    @property
    def zip_size(self) -> int:
        return self.zip_path.stat().st_size

    def filename(self, name: str, fmt: str) -> str:
        suffix = "" if self.public else "-detail"
        return safe_filename(f"{self.stem}-{name}{suffix}.{fmt}")

    @property
    def zip_filename(self) -> str:
        suffix = "" if self.public else "-detail"
        return safe_filename(f"{self.stem}{suffix}.zip")


MANIFEST = "manifest.json"


def export_set(session: Session, scope: Scope, *, public: bool) -> ExportSet | None:
    """The cached files of ``scope`` for the latest compilation, built on first use (into a
    scratch directory renamed into place, so a concurrent reader never sees half a set)."""
    compilation = latest_compilation(session)
    if compilation is None:
        return None
    root = export_root()
    key = compilation_key(compilation)
    variant = "public" if public else "detail"
    scope_dir = f"{scope.kind}-{scope.code or 'fr'}-{variant}"
    target = root / key / scope_dir
    manifest = target / MANIFEST
    if not manifest.exists():
        root.mkdir(parents=True, exist_ok=True)
        _forget_older(root, keep=key)
        (root / key).mkdir(exist_ok=True)
        # One builder per set: a second request for it waits for the first one's files rather
        # than spending the same seconds of CPU on a copy.
        with open(root / key / f".{scope_dir}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not manifest.exists():
                bundle = load_bundle(session, scope, public=public, compilation=compilation)
                if bundle is None:
                    return None
                _build_set(root / key, scope_dir, target, bundle)
    info = json.loads(manifest.read_text(encoding="utf-8"))
    return ExportSet(
        directory=target,
        scope=scope,
        public=public,
        compilation_id=compilation.id,
        compiled_at=compilation.finished_at or compilation.started_at,
        tables=tuple(info["tables"]),
        rows=info["rows"],
        stem=file_stem(scope),
    )


def _build_set(parent: Path, scope_dir: str, target: Path, bundle: Bundle) -> None:
    scratch = Path(tempfile.mkdtemp(prefix=f".{scope_dir}-", dir=parent))
    try:
        with force_locale("fr"):
            _write_set(scratch, bundle)
        try:
            os.rename(scratch, target)
        except OSError:
            # Another process finished the same set first: theirs is as good as ours.
            if not (target / MANIFEST).exists():
                raise
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)


def _write_set(directory: Path, bundle: Bundle) -> None:
    for fmt in FORMATS:
        (directory / fmt).mkdir()
        for name in bundle.tables:
            write_table(directory / fmt / f"{name}.{fmt}", bundle, name, fmt)
    write_zip(directory / "all.zip", bundle, written=directory)
    # Written last: its presence means the set is complete.
    (directory / MANIFEST).write_text(
        json.dumps(
            {
                "tables": list(bundle.tables),
                "rows": {name: len(df) for name, df in bundle.tables.items()},
            }
        ),
        encoding="utf-8",
    )


# A superseded compilation's files may still be streaming to someone for a little while.
STALE_SECONDS = 600


def _forget_older(root: Path, keep: str) -> None:
    """Files of superseded compilations are never served again: remove them once stale."""
    horizon = time.time() - STALE_SECONDS
    for entry in root.iterdir():
        if (
            entry.is_dir()
            and entry.name != keep
            and entry.name.startswith("c")
            and entry.stat().st_mtime < horizon
        ):
            shutil.rmtree(entry, ignore_errors=True)


def human_size(size: int) -> str:
    # A non-breaking space keeps the unit on the figure's line.
    if size < 1024:
        return f"{size}\u00a0o"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f}\u00a0Ko".replace(".", ",")
    return f"{size / 1024 / 1024:.1f}\u00a0Mo".replace(".", ",")


def warm(session: Session, *, scopes: Iterable[Scope] | None = None) -> int:
    """Build the public files of every scope of the latest compilation, so no visitor waits for
    them (to run right after a compilation, e.g. by ``flask synthesis compile``). Returns the
    number of scopes ready; needs an application context."""
    ready = 0
    for scope in all_scopes() if scopes is None else scopes:
        if export_set(session, scope, public=True) is not None:
            ready += 1
    return ready
