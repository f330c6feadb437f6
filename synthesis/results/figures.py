"""The display form of a version's frozen figures (pages, PDF, CSV)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from consult.models import AUDIENCE_PLURALS, Audience
from consult.territories import catalog
from synthesis import catalog as tables
from synthesis.results.base import DISPLAY_ROWS, LABELS_KEY, SUPPRESSED, ResultsError


def format_number(value: float | int, digits: int = 0) -> str:
    text = f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")
    return text


@dataclass
class FigureTable:
    name: str
    title: str
    description: str
    headers: list[str]
    rows: list[list[str]]
    total: int
    suppressed: int

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


def _dim_label(
    column: str,
    value: Any,
    questions: dict[str, str],
    frozen: dict[str, dict[str, str]],
    context: dict[str, Any],
) -> str:
    if value is None:
        return "—"
    text = str(value)
    key = {
        "theme_slug": text,
        "subtheme_slug": f"{context.get('theme_slug')}/{text}",
        "option_key": f"{context.get('question_key')}:{text}",
    }.get(column)
    if key is not None and key in frozen.get(column, {}):
        return frozen[column][key]
    if column == "audience":
        if text == tables.ALL:
            return _("Tous publics")
        try:
            return str(AUDIENCE_PLURALS[Audience(text)])
        except ValueError:
            return text
    if column == "academie_code":
        acad = catalog().academies.get(text)
        return acad.name if acad else (_("Toutes") if text == tables.ALL else text)
    if text == tables.ALL:
        return _("Ensemble")
    if column == "indicator":
        return str(tables.INDICATOR_LABELS.get(text, text))
    if column == "ranking":
        return str(tables.RANKING_LABELS.get(text, text))
    if column == "label":
        return str(tables.CONSENSUS_LABELS.get(text, text))
    if column == "corpus":
        return str(tables.CORPUS_LABELS.get(text, text))
    if column == "dimension":
        return str(tables.RETEX_DIMENSION_LABELS.get(text, text))
    if column == "question_key" and text in questions:
        return f"{text} — {questions[text]}"
    return text


def _figure_cell(kind: str, value: Any) -> str:
    if value is None:
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if kind == "share":
        return f"{format_number(number * 100, 1)}\u202f%"
    if kind == "score":
        return format_number(number, 3)
    return format_number(number)


def figure_tables(
    figures: dict[str, Any], names: list[str], limit: int | None = DISPLAY_ROWS
) -> list[FigureTable]:
    """The frozen figures as display tables: labels instead of codes, the one neutral marker
    where the figure was hidden from the public."""
    questions: dict[str, str] = {}
    labels = figures.get("survey_questions")
    if labels:
        cols = labels["columns"]
        for row in labels["rows"]:
            record = dict(zip(cols, row, strict=False))
            questions[str(record.get("question_key"))] = str(record.get("label") or "")
    frozen = figures.get(LABELS_KEY) or {}
    result = []
    for name in names:
        data = figures.get(name)
        if name not in tables.TABLES or data is None:
            continue
        spec = tables.spec(name)
        columns = [c for c in data["columns"] if c != "suppressed"]
        index = {c: i for i, c in enumerate(data["columns"])}
        kinds = {c.name: c.kind for c in spec.columns}
        headers = [str(spec.column(c).label) if c in kinds else c for c in columns]
        rows: list[list[str]] = []
        hidden = 0
        all_rows = data["rows"]
        for raw in all_rows:
            is_hidden = "suppressed" in index and bool(raw[index["suppressed"]])
            hidden += is_hidden
            if limit is not None and len(rows) >= limit:
                continue
            cells = []
            context = {c: raw[index[c]] for c in ("theme_slug", "question_key") if c in index}
            for column in columns:
                value = raw[index[column]]
                kind = kinds.get(column, "text")
                if kind in tables.FIGURE_KINDS:
                    cells.append(
                        SUPPRESSED if is_hidden and value is None else _figure_cell(kind, value)
                    )
                elif kind == "dim":
                    cells.append(_dim_label(column, value, questions, frozen, context))
                else:
                    cells.append("—" if value is None else str(value))
            rows.append(cells)
        result.append(
            FigureTable(
                name=name,
                title=str(spec.title),
                description=str(spec.description),
                headers=headers,
                rows=rows,
                total=len(all_rows),
                suppressed=hidden,
            )
        )
    return result


def figure_csv_rows(figures: dict[str, Any], name: str) -> tuple[list[str], list[list[Any]]]:
    """One frozen table as published (suppressed figures empty, a ``suppressed`` column)."""
    data = figures.get(name) if name in tables.TABLES else None
    if data is None:
        raise ResultsError(_("Ce tableau ne fait pas partie de cette version."), 404)
    return list(data["columns"]), list(data["rows"])


def suppressed_cells(columns: list[str], rows: list[list[Any]]) -> Iterator[list[Any]]:
    """Rows for a file: the empty figures of a suppressed row read as the one suppression
    marker every export writes (``csvout.SUPPRESSED_TEXT``)."""
    from consult.csvout import SUPPRESSED_TEXT

    flag = columns.index("suppressed") if "suppressed" in columns else None
    for row in rows:
        if flag is not None and row[flag]:
            yield [SUPPRESSED_TEXT if v is None else v for v in row]
        else:
            yield row
