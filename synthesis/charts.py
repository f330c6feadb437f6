"""From synthesis tables (DataFrames, suppressed or not) to what the pages show: for every chart
its data table, a one-sentence summary computed from the same figures, and a plotly figure
(plain JSON drawn by ``static/synthesis/charts.js``).

Everything is derived from the tables handed in: on public pages they are the suppressed tables,
so a suppressed figure is « < 10 » in the table and simply absent from the chart JSON. The
result is plain JSON (dicts, lists, strings) so pages can cache it.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import pandas as pd
from babel import numbers as babel_numbers
from flask import url_for
from flask_babel import format_decimal, format_percent, get_locale, ngettext, pgettext
from flask_babel import gettext as _

from consult import csvout
from consult.models import AUDIENCE_PLURALS, Audience
from consult.territories import academie_label, catalog
from synthesis import geo

ALL = "*"
SUPPRESSED = csvout.SUPPRESSED_TEXT  # the one neutral marker
MISSING = "–"
AUDIENCES = [a.value for a in Audience]
FONT = {"family": "Marianne, arial, sans-serif"}
# One colour per audience, colour-blind friendly (Okabe-Ito), the same on every chart.
AUDIENCE_COLOURS = {
    "eleve": "#0072B2",
    "parent": "#E69F00",
    "professeur": "#009E73",
    "encadrement": "#CC79A7",
    "agent": "#56B4E9",
    "autre": "#7F7F7F",
}
POSITIVE, NEGATIVE = "#18753c", "#ce0500"
DAILY_INDICATORS = ("contributions", "votes", "comments", "survey_responses")
# The national tables a territory page compares with.
NATIONAL_TABLES = ("participation", "survey_distribution")
# The tables a page reads (survey_territory is for exports and the API).
PAGE_TABLES = (
    "participation",
    "participation_territory",
    "participation_daily",
    "forum_themes",
    "forum_top",
    "forum_consensus",
    "forum_consensus_matrix",
    "survey_distribution",
    "survey_questions",
    "topics",
    "retex",
    "retex_recent",
)
MAP_INDICATORS = ("participants", "contributions", "votes", "comments", "survey_responses")


# --- Formatting ---------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, str | int):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def count(value: Any, suppressed: bool = False) -> str:
    if suppressed:
        return SUPPRESSED
    if _missing(value):
        return MISSING
    return _integer(int(value), str(get_locale()))


@functools.lru_cache(maxsize=4096)
def _integer(value: int, locale: str) -> str:
    # Babel's formatting dominates a big page's build: the same small counts recur.
    return babel_numbers.format_decimal(value, locale=locale)


def score(value: Any, suppressed: bool = False, digits: int = 3) -> str:
    if suppressed:
        return SUPPRESSED
    if _missing(value):
        return MISSING
    return format_decimal(round(float(value), digits))


def share(value: Any, suppressed: bool = False) -> str:
    if suppressed:
        return SUPPRESSED
    if _missing(value):
        return MISSING
    return format_percent(float(value), "#,##0.0 %")


def _number(value: Any) -> float | None:
    return None if _missing(value) else float(value)


def _hidden(row: Any) -> bool:
    """True when privacy blanked this row (public tables carry a ``suppressed`` column)."""
    value = row.get("suppressed", False) if hasattr(row, "get") else False
    return bool(value) and not _missing(value)


def audience_label(code: str) -> str:
    if code == ALL:
        return _("Ensemble")
    try:
        return str(AUDIENCE_PLURALS[Audience(code)])
    except ValueError:
        return code


def academie_name(code: str) -> str:
    acad = catalog().academies.get(code)
    return acad.name if acad else code


Rows = list[dict[str, Any]]


def _table(tables: dict | None, name: str) -> Rows:
    """A table as a list of row dicts (missing values as None): plain Python is much faster
    than pandas for the few thousand small lookups a page makes."""
    value = tables.get(name) if tables else None
    if value is None:
        return []
    if isinstance(value, pd.DataFrame):
        columns = [str(c) for c in value.columns]
        return [
            {c: None if _missing(v) else v for c, v in zip(columns, row, strict=True)}
            for row in value.itertuples(index=False, name=None)
        ]
    return value


def rows_of(tables: dict, name: str) -> Rows:
    """JSON-ready rows of one table (cached national comparisons)."""
    return [{k: _plain(v) for k, v in row.items()} for row in _table(tables, name)]


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, bool | str | None):
        return value
    if isinstance(value, int):
        return int(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _rows(rows: Rows | None, **equal: Any) -> Rows:
    if not rows:
        return []
    wanted = {column: str(value) for column, value in equal.items()}
    return [r for r in rows if all(str(r.get(c)) == v for c, v in wanted.items())]


def _lookup(rows: Rows, key: str, figure: str) -> dict[str, tuple[Any, bool]]:
    """{key value: (figure, suppressed)} for ``rows``."""
    return {str(row[key]): (row.get(figure), _hidden(row)) for row in rows}


def _distinct(rows: Rows, column: str) -> list[str]:
    return list(dict.fromkeys(str(r[column]) for r in rows))


def _chart(
    ident: str,
    title: str,
    summary: str,
    caption: str,
    head: list[str],
    rows: list[list[Any]],
    figure: dict | None = None,
    note: str | None = None,
) -> dict:
    """A chart block: ``rows`` are lists of cells, the first cell being the row header; a cell
    is a string or ``{"text": ..., "href": ...}``."""
    return {
        "id": ident,
        "title": title,
        "summary": summary,
        "caption": caption,
        "head": head,
        "rows": rows,
        "figure": figure,
        "note": note,
    }


def _layout(**extra: Any) -> dict:
    layout = {
        "font": FONT,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 60},
        # Legend above the plot, clear of the axis titles.
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
    }
    layout.update(extra)
    return layout


# --- Participation ------------------------------------------------------------------------------


def participation(tables: dict, national: dict | None = None) -> dict | None:
    """Participation by audience: every indicator per audience, bars of participants."""
    from synthesis.catalog import INDICATOR_LABELS, PARTICIPATION_INDICATORS

    df = _table(tables, "participation")
    if not df:
        return None
    by_indicator = {
        ind: _lookup(_rows(df, indicator=ind), "audience", "value")
        for ind in PARTICIPATION_INDICATORS
    }
    national_participants = (
        _lookup(
            _rows(_table(national, "participation"), indicator="participants"), "audience", "value"
        )
        if national
        else None
    )
    head = [pgettext("audience", "Public")] + [
        str(INDICATOR_LABELS[i]) for i in PARTICIPATION_INDICATORS
    ]
    if national_participants is not None:
        head.append(_("Participants (national)"))
    rows = []
    for audience in [*AUDIENCES, ALL]:
        row: list[Any] = [audience_label(audience)]
        for ind in PARTICIPATION_INDICATORS:
            value, hidden = by_indicator[ind].get(audience, (None, False))
            row.append(count(value, hidden))
        if national_participants is not None:
            value, hidden = national_participants.get(audience, (None, False))
            row.append(count(value, hidden))
        rows.append(row)
    participants = by_indicator["participants"]
    shown = {
        a: _number(v)
        for a, (v, hidden) in participants.items()
        if a != ALL and not hidden and _number(v) is not None
    }
    total, total_hidden = participants.get(ALL, (None, False))
    if total_hidden or _missing(total):
        summary = _("Moins de 10 personnes ont participé sur ce territoire.")
    elif shown:
        top = max(shown, key=lambda a: (shown[a], a))
        summary = _(
            "%(total)s personnes ont participé ; le public le plus représenté est celui des "
            "%(audience)s (%(count)s).",
            total=count(total),
            audience=audience_label(top).lower(),
            count=count(shown[top]),
        )
    else:
        summary = _("%(total)s personnes ont participé.", total=count(total))
    figure = None
    if shown:
        order = [a for a in AUDIENCES if a in shown]
        figure = {
            "data": [
                {
                    "type": "bar",
                    "x": [audience_label(a) for a in order],
                    "y": [shown[a] for a in order],
                    "marker": {"color": [AUDIENCE_COLOURS[a] for a in order]},
                    "name": _("Participants"),
                }
            ],
            "layout": _layout(yaxis={"title": {"text": _("Participants")}, "rangemode": "tozero"}),
        }
    return _chart(
        "participation-audience",
        _("Participation par public"),
        summary,
        _("Participation par public et par indicateur"),
        head,
        rows,
        figure,
    )


def participation_daily(tables: dict) -> dict | None:
    from synthesis.catalog import INDICATOR_LABELS

    df = _rows(_table(tables, "participation_daily"), audience=ALL)
    if not df:
        return None
    days = sorted(set(_distinct(df, "day")))
    series = {ind: _lookup(_rows(df, indicator=ind), "day", "value") for ind in DAILY_INDICATORS}
    rows, activity = [], {}
    for day in days:
        figures = [series[ind].get(day, (None, False)) for ind in DAILY_INDICATORS]
        if all(_missing(v) and not hidden for v, hidden in figures):
            continue  # a day with other activity only (e.g. idea supports)
        rows.append([day] + [count(v, hidden) for v, hidden in figures])
        activity[day] = sum(_number(v) or 0 for v, hidden in figures if not hidden)
    if not rows:
        return None
    if any(activity.values()):
        busiest = max(activity, key=lambda d: (activity[d], d))
        summary = _(
            "Du %(first)s au %(last)s, le jour le plus actif est le %(day)s (%(count)s "
            "contributions, votes, commentaires et réponses).",
            first=rows[0][0],
            last=rows[-1][0],
            day=busiest,
            count=count(activity[busiest]),
        )
    else:
        summary = _(
            "Du %(first)s au %(last)s, chaque jour compte moins de 10 personnes par indicateur.",
            first=rows[0][0],
            last=rows[-1][0],
        )
    data = []
    for ind in DAILY_INDICATORS:
        points = [(d, _number(v)) for d, (v, hidden) in sorted(series[ind].items()) if not hidden]
        if points:
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": str(INDICATOR_LABELS[ind]),
                    "x": [p[0] for p in points],
                    "y": [p[1] for p in points],
                }
            )
    return _chart(
        "participation-daily",
        _("Participation jour par jour"),
        summary,
        _("Participation jour par jour, tous publics"),
        [_("Jour")] + [str(INDICATOR_LABELS[i]) for i in DAILY_INDICATORS],
        rows,
        {"data": data, "layout": _layout(xaxis={"type": "date"})} if data else None,
    )


def _synthesis_url(code: str) -> str | None:
    acad = catalog().academies.get(code)
    return url_for("synthesis.territory", kind="academie", slug=acad.slug) if acad else None


def academie_map(tables: dict, geojson_url: str) -> dict | None:
    """Participation by académie: choropleth of participants and the table of indicators."""
    from synthesis.catalog import INDICATOR_LABELS

    df = _rows(_table(tables, "participation_territory"), audience=ALL)
    if not df:
        return None
    by_indicator = {
        ind: _lookup(_rows(df, indicator=ind), "academie_code", "value") for ind in MAP_INDICATORS
    }
    codes = [
        a.code
        for a in catalog().academies_sorted()
        if a.code in set(_distinct(df, "academie_code"))
    ]
    mapped = geo.mapped_codes()
    rows = []
    for code in codes:
        href = _synthesis_url(code)
        name = academie_name(code)
        if code not in mapped:
            name = _("%(name)s (outre-mer, hors carte)", name=name)
        row: list[Any] = [{"text": name, "href": href}]
        for ind in MAP_INDICATORS:
            value, hidden = by_indicator[ind].get(code, (None, False))
            row.append(count(value, hidden))
        rows.append(row)
    participants = by_indicator["participants"]
    shown = {c: _number(v) for c, (v, hidden) in participants.items() if not hidden and _number(v)}
    small = sum(1 for c in codes if participants.get(c, (None, True))[1])
    if shown:
        top = max(shown, key=lambda c: (shown[c], c))
        summary = _(
            "C’est l’%(academie)s qui compte le plus de participants (%(count)s).",
            academie=academie_label(academie_name(top), capital=False),
            count=count(shown[top]),
        )
        if small:  # « 0 académies comptent… » says nothing
            summary += " " + ngettext(
                "%(num)s académie compte moins de 10 participants.",
                "%(num)s académies comptent moins de 10 participants.",
                small,
            )
    else:
        summary = _("Aucune académie ne compte 10 participants ou plus.")
    on_map = [c for c in codes if c in mapped and c in shown]
    figure = None
    if on_map and len(codes) > 1:
        figure = {
            "geojson": geojson_url,
            "data": [
                # Every académie in light grey underneath: the country keeps its shape when
                # académies are suppressed or have no participants.
                {
                    "type": "choroplethmap",
                    "locations": sorted(mapped),
                    "z": [0] * len(mapped),
                    "featureidkey": "id",
                    "colorscale": [[0, "#eeeeee"], [1, "#eeeeee"]],
                    "showscale": False,
                    "marker": {"line": {"color": "#929292", "width": 0.6}},
                    "hoverinfo": "skip",
                },
                {
                    "type": "choroplethmap",
                    "locations": on_map,
                    "z": [shown[c] for c in on_map],
                    "text": [academie_name(c) for c in on_map],
                    "featureidkey": "id",
                    # Light to dark blue (DSFR « bleu France »), from zero: more = darker,
                    # distinct from the grey of académies without a published figure.
                    "colorscale": [[0, "#cacafb"], [1, "#000091"]],
                    "zmin": 0,
                    "zmax": max(shown[c] for c in on_map),
                    "marker": {"line": {"color": "#3a3a3a", "width": 0.6}},
                    "colorbar": {"title": {"text": _("Participants")}},
                    "hovertemplate": "%{text} : %{z}<extra></extra>",
                },
            ],
            "layout": _layout(
                map={
                    "style": "white-bg",
                    "center": {"lon": 2.6, "lat": 46.6},
                    "zoom": 4.6,
                },
                margin={"l": 0, "r": 0, "t": 0, "b": 0},
                height=560,
            ),
        }
    overseas = [academie_name(c) for c in geo.overseas_codes() if c in codes]
    note = (
        _("Académies d’outre-mer, absentes de la carte : %(names)s.", names=", ".join(overseas))
        if overseas and figure
        else None
    )
    return _chart(
        "participation-map",
        _("Participation par académie"),
        summary,
        _("Participation par académie, tous publics"),
        [_("Académie")] + [str(INDICATOR_LABELS[i]) for i in MAP_INDICATORS],
        rows,
        figure,
        note,
    )


# --- Forums -------------------------------------------------------------------------------------


def _theme_titles() -> dict[str, str]:
    from consult.db import db
    from forums.models import Theme

    return dict(db.session.query(Theme.slug, Theme.title).all())


def forum_audiences(tables: dict, titles: dict[str, str]) -> dict | None:
    """Contributions per theme, stacked by audience."""
    df = _rows(_table(tables, "forum_themes"), subtheme_slug=ALL, indicator="contributions")
    if not df:
        return None
    themes = _distinct(df, "theme_slug")
    cells = {(str(r["theme_slug"]), str(r["audience"])): (r.get("value"), _hidden(r)) for r in df}
    rows = []
    for theme in themes:
        row: list[Any] = [titles.get(theme, theme)]
        for audience in [*AUDIENCES, ALL]:
            value, hidden = cells.get((theme, audience), (None, False))
            row.append(count(value, hidden))
        rows.append(row)
    totals = {
        t: _number(cells.get((t, ALL), (None, True))[0])
        for t in themes
        if not cells.get((t, ALL), (None, True))[1]
    }
    totals = {t: v for t, v in totals.items() if v is not None}
    if totals:
        top = max(totals, key=lambda t: (totals[t], t))
        summary = _(
            "Le thème qui a reçu le plus de contributions est « %(theme)s » (%(count)s).",
            theme=titles.get(top, top),
            count=count(totals[top]),
        )
    else:
        summary = _("Moins de 10 personnes ont contribué à chaque thème.")
    data = []
    for audience in AUDIENCES:
        points = [
            (plot_text(titles.get(t, t)), _number(cells[(t, audience)][0]))
            for t in themes
            if (t, audience) in cells and not cells[(t, audience)][1]
        ]
        points = [p for p in points if p[1] is not None]
        if points:
            data.append(
                {
                    "type": "bar",
                    "orientation": "h",
                    "name": audience_label(audience),
                    "y": [p[0] for p in points],
                    "x": [p[1] for p in points],
                    "marker": {"color": AUDIENCE_COLOURS[audience]},
                }
            )
    figure = None
    if data:
        figure = {
            "data": data,
            "layout": _layout(
                barmode="stack",
                # Stacked traces list their legend backwards by default.
                legend={
                    "orientation": "h",
                    "x": 0,
                    "y": 1.02,
                    "yanchor": "bottom",
                    "traceorder": "normal",
                },
                margin={"l": 220, "r": 20, "t": 40, "b": 40},
                yaxis=_categories([plot_text(titles.get(t, t)) for t in themes]),
                height=140 + 40 * len(themes),
            ),
        }
    return _chart(
        "forums-audiences",
        _("Contributions par thème et par public"),
        summary,
        _("Contributions par thème et par public"),
        [_("Thème")] + [audience_label(a) for a in [*AUDIENCES, ALL]],
        rows,
        figure,
    )


def _categories(labels: list[str]) -> dict:
    """A category axis in the table's order, top to bottom (plotly would otherwise order the
    categories as the first trace happens to list them)."""
    return {
        "automargin": True,
        "categoryorder": "array",
        "categoryarray": labels,
        "autorange": "reversed",
    }


def forum_balance(tables: dict, titles: dict[str, str], kind: str) -> dict | None:
    """Diverging bars per theme: adopt/refuse votes (``kind="votes"``) or pour/contre comments."""
    positive, negative = ("adopt", "refuse") if kind == "votes" else ("pour", "contre")
    df = _rows(_table(tables, "forum_themes"), subtheme_slug=ALL, audience=ALL)
    if not df:
        return None
    themes = _distinct(df, "theme_slug")
    pos = _lookup(_rows(df, indicator=positive), "theme_slug", "value")
    neg = _lookup(_rows(df, indicator=negative), "theme_slug", "value")
    if kind == "votes":
        head = [_("Thème"), _("Adoptions"), _("Refus"), _("Part d’adoption")]
        title = _("Adoptions et refus par thème")
    else:
        head = [_("Thème"), _("Commentaires pour"), _("Commentaires contre"), _("Part de « pour »")]
        title = _("Commentaires pour et contre par thème")
    rows, shares = [], {}
    for theme in themes:
        p, p_hidden = pos.get(theme, (None, False))
        n, n_hidden = neg.get(theme, (None, False))
        ratio = None
        known = not (p_hidden or n_hidden) and None not in (_number(p), _number(n))
        if known and _number(p) + _number(n) > 0:
            ratio = _number(p) / (_number(p) + _number(n))
            shares[theme] = ratio
        rows.append(
            [
                titles.get(theme, theme),
                count(p, p_hidden),
                count(n, n_hidden),
                share(ratio, p_hidden or n_hidden),
            ]
        )
    top = max(shares, key=lambda t: (shares[t], t)) if shares else None
    low = min(shares, key=lambda t: (shares[t], t)) if shares else None
    if len(shares) == 1:
        # One theme: it is not both the most and the least adopted.
        if kind == "votes":
            summary = _(
                "Le thème « %(top)s » recueille %(top_share)s d’adoptions.",
                top=titles.get(top, top),
                top_share=share(shares[top]),
            )
        else:
            summary = _(
                "Les commentaires du thème « %(top)s » sont « pour » à %(top_share)s.",
                top=titles.get(top, top),
                top_share=share(shares[top]),
            )
    elif shares and shares[top] == shares[low]:
        if kind == "votes":
            summary = _(
                "Les thèmes recueillent tous la même part d’adoptions (%(top_share)s).",
                top_share=share(shares[top]),
            )
        else:
            summary = _(
                "Les commentaires sont « pour » dans la même part dans tous les thèmes "
                "(%(top_share)s).",
                top_share=share(shares[top]),
            )
    elif shares:
        if kind == "votes":
            summary = _(
                "Le thème le plus adopté est « %(top)s » (%(top_share)s d’adoptions), le moins "
                "adopté « %(low)s » (%(low_share)s).",
                top=titles.get(top, top),
                top_share=share(shares[top]),
                low=titles.get(low, low),
                low_share=share(shares[low]),
            )
        else:
            summary = _(
                "Les commentaires sont le plus favorables dans le thème « %(top)s » (%(top_share)s "
                "de « pour »), le moins dans « %(low)s » (%(low_share)s).",
                top=titles.get(top, top),
                top_share=share(shares[top]),
                low=titles.get(low, low),
                low_share=share(shares[low]),
            )
    else:
        summary = _("Trop peu de personnes ont voté ou commenté pour comparer les thèmes.")
    shown = [t for t in themes if t in shares]
    figure = None
    if shown:
        labels = [plot_text(titles.get(t, t)) for t in shown]
        figure = {
            "data": [
                {
                    "type": "bar",
                    "orientation": "h",
                    "name": head[1],
                    "y": labels,
                    "x": [_number(pos[t][0]) for t in shown],
                    "marker": {"color": POSITIVE},
                },
                {
                    "type": "bar",
                    "orientation": "h",
                    "name": head[2],
                    "y": labels,
                    "x": [-_number(neg[t][0]) for t in shown],
                    "marker": {"color": NEGATIVE},
                },
            ],
            "layout": _layout(
                barmode="relative",
                margin={"l": 220, "r": 20, "t": 40, "b": 40},
                yaxis=_categories(labels),
                height=120 + 40 * len(shown),
            ),
        }
    return _chart(
        f"forums-{kind}",
        title,
        summary,
        title,
        head,
        rows,
        figure,
    )


def _contribution_link(contribution_id: Any, title: Any) -> dict:
    return {
        "text": str(title),
        "href": url_for("forums.contribution", contribution_id=int(contribution_id)),
    }


def forum_top(tables: dict, titles: dict[str, str], ranking: str) -> dict | None:
    df = _rows(_table(tables, "forum_top"), ranking=ranking)
    if not df:
        return None
    df = sorted(df, key=lambda r: (str(r["theme_slug"]), int(r["rank"])))
    rows = []
    for r in df:
        hidden = _hidden(r)
        rows.append(
            [
                _contribution_link(r["contribution_id"], r["title"]),
                titles.get(str(r["theme_slug"]), str(r["theme_slug"])),
                count(r.get("adopt"), hidden),
                count(r.get("refuse"), hidden),
                score(r.get("wilson"), hidden),
                count(r.get("comments"), hidden),
            ]
        )
    if ranking == "adopted":
        title = _("Contributions les plus adoptées")
        summary = ngettext(
            "%(num)s contribution classée par la borne basse de Wilson de ses votes sur ce "
            "territoire, qui favorise les adoptions nombreuses et nettes.",
            "%(num)s contributions classées par la borne basse de Wilson de leurs votes sur ce "
            "territoire, qui favorise les adoptions nombreuses et nettes.",
            len(rows),
        )
    else:
        title = _("Contributions les plus débattues")
        summary = ngettext(
            "%(num)s contribution classée par le nombre de commentaires reçus sur ce territoire.",
            "%(num)s contributions classées par le nombre de commentaires reçus sur ce territoire.",
            len(rows),
        )
    return _chart(
        f"forums-top-{ranking}",
        title,
        summary,
        title,
        [
            _("Contribution"),
            _("Thème"),
            _("Adoptions"),
            _("Refus"),
            _("Borne basse de Wilson"),
            _("Commentaires"),
        ],
        rows,
    )


def consensus(tables: dict, titles: dict[str, str], label: str) -> dict | None:
    df = _rows(_table(tables, "forum_consensus"), label=label)
    if not df:
        return None
    rows = []
    for r in df:
        hidden = _hidden(r)
        rows.append(
            [
                _contribution_link(r["contribution_id"], r["title"]),
                titles.get(str(r["theme_slug"]), str(r["theme_slug"])),
                count(r.get("audiences"), hidden),
                count(r.get("votes"), hidden),
                share(r.get("min_share"), hidden),
                share(r.get("max_share"), hidden),
            ]
        )
    if label == "consensuelle":
        title = _("Contributions consensuelles")
        summary = ngettext(
            "%(num)s contribution est adoptée par une majorité de chacun des publics qui ont "
            "assez voté.",
            "%(num)s contributions sont adoptées par une majorité de chacun des publics qui ont "
            "assez voté.",
            len(rows),
        )
    else:
        title = _("Contributions clivantes")
        summary = ngettext(
            "%(num)s contribution est adoptée par un public et refusée par un autre.",
            "%(num)s contributions sont adoptées par un public et refusées par un autre.",
            len(rows),
        )
    return _chart(
        f"consensus-{label}",
        title,
        summary,
        title,
        [
            _("Contribution"),
            _("Thème"),
            _("Publics ayant assez voté"),
            _("Votes"),
            _("Part d’adoption la plus basse"),
            _("Part d’adoption la plus haute"),
        ],
        rows,
    )


def plot_text(text: str) -> str:
    """Text for a plotly label: plotly.js reads a subset of HTML in labels (links, styles), so
    people's words go in as entities, which it shows literally."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _short(text: str, size: int = 48) -> str:
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


def consensus_matrix(tables: dict) -> dict | None:
    """The audience × contribution matrix of adoption shares, as a table and a heatmap."""
    matrix = _table(tables, "forum_consensus_matrix")
    listed = _table(tables, "forum_consensus")
    if not matrix or not listed:
        return None
    contributions = [(int(r["contribution_id"]), str(r["title"]), str(r["label"])) for r in listed]
    cells = {
        (int(r["contribution_id"]), str(r["audience"])): (r.get("share"), _hidden(r))
        for r in matrix
    }
    audiences = [a for a in AUDIENCES if any(k[1] == a for k in cells)]
    rows = []
    z, hover = [], []
    for cid, title, label in contributions:
        row: list[Any] = [_contribution_link(cid, title)]
        row.append(_("consensuelle") if label == "consensuelle" else _("clivante"))
        values = []
        for audience in audiences:
            value, hidden = cells.get((cid, audience), (None, False))
            row.append(share(value, hidden))
            number = None if hidden else _number(value)
            values.append(None if number is None else round(100 * number, 1))
        rows.append(row)
        z.append(values)
        hover.append(plot_text(_short(title)))
    summary = ngettext(
        "Part d’adoption de %(num)s contribution dans chaque public : une case vide signale un "
        "public qui a trop peu voté.",
        "Parts d’adoption de %(num)s contributions dans chaque public : une case vide signale "
        "un public qui a trop peu voté.",
        len(contributions),
    )
    figure = None
    if any(v is not None for line in z for v in line):
        figure = {
            "data": [
                {
                    "type": "heatmap",
                    "z": z,
                    "x": [audience_label(a) for a in audiences],
                    "y": hover,
                    "zmin": 0,
                    "zmax": 100,
                    "colorscale": "RdBu",
                    # Blue for adoption, red for refusal.
                    "reversescale": True,
                    "colorbar": {"title": {"text": _("Part d’adoption (%)")}},
                }
            ],
            "layout": _layout(
                margin={"l": 320, "r": 20, "t": 20, "b": 60},
                yaxis={"automargin": True, "autorange": "reversed"},
                height=120 + 28 * len(contributions),
            ),
        }
    return _chart(
        "consensus-matrix",
        _("Matrice public × contribution"),
        summary,
        _("Part d’adoption de chaque contribution, par public"),
        [_("Contribution"), _("Consensus")] + [audience_label(a) for a in audiences],
        rows,
        figure,
    )


# --- Questionnaire ------------------------------------------------------------------------------


@functools.cache
def _option_labels() -> dict[str, dict[str, str]]:
    """Option labels of the questionnaire definition shipped with the code, by question."""
    try:
        from surveys import engine, queries

        definition = engine.load_file(engine.default_path())
    except Exception:  # a missing or changed definition only costs the labels
        return {}
    labels: dict[str, dict[str, str]] = {}
    for section in definition.sections:
        for question in section.questions:
            labels[question.code] = {str(k): str(v) for k, v in queries._keys(question)}
    return labels


def survey_questions(tables: dict, national: dict | None = None) -> list[dict]:
    df = _table(tables, "survey_distribution")
    if not df:
        return []
    questions = _table(tables, "survey_questions")
    labels = {}
    if questions:
        labels = {str(r["question_key"]): str(r["label"]) for r in questions}
    national_df = _table(national, "survey_distribution") if national else None
    option_labels = _option_labels()
    by_question: dict[str, Rows] = {}
    for row in df:
        by_question.setdefault(str(row["question_key"]), []).append(row)
    national_by_question: dict[str, Rows] = {}
    for row in _rows(national_df, audience=ALL):
        national_by_question.setdefault(str(row["question_key"]), []).append(row)
    charts = []
    for key, rows in by_question.items():
        chart = _survey_question(
            key,
            labels.get(key, key),
            rows,
            national_by_question.get(key, []) if national_df is not None else None,
            option_labels.get(key, {}),
        )
        if chart:
            charts.append(chart)
    return charts


def _survey_question(key, label, df, national_df, options) -> dict | None:
    option_keys = _distinct(df, "option_key")
    audiences = [a for a in AUDIENCES if a in set(_distinct(df, "audience"))]
    cells = {(str(r["option_key"]), str(r["audience"])): r for r in df}
    national_cells = (
        {str(r["option_key"]): r for r in national_df} if national_df is not None else None
    )
    weighted = any(not _missing(r.get("weighted_share")) for (o, a), r in cells.items() if a == ALL)
    head = [_("Réponse")] + [audience_label(a) for a in audiences] + [_("Ensemble")]
    if weighted:
        head += [_("Part pondérée"), _("Taille effective d’échantillon")]
    if national_cells is not None:
        head.append(_("National"))
    rows = []
    overall = {}
    for option in option_keys:
        row: list[Any] = [options.get(option, option)]
        for audience in [*audiences, ALL]:
            r = cells.get((option, audience))
            if r is None:
                row.append(MISSING)
                continue
            hidden = _hidden(r)
            row.append(f"{share(r.get('share'), hidden)} ({count(r.get('count'), hidden)})")
            if audience == ALL and not hidden and _number(r.get("share")) is not None:
                overall[option] = _number(r.get("share"))
        if weighted:
            r = cells.get((option, ALL))
            hidden = r is not None and _hidden(r)
            row.append(share(None if r is None else r.get("weighted_share"), hidden))
            row.append(score(None if r is None else r.get("effective_n"), hidden, 1))
        if national_cells is not None:
            r = national_cells.get(option)
            row.append(MISSING if r is None else share(r.get("share"), _hidden(r)))
        rows.append(row)
    if overall:
        top = max(overall, key=lambda o: (overall[o], o))
        summary = _(
            "Réponse la plus fréquente : « %(option)s » (%(share)s des répondants).",
            option=options.get(top, top),
            share=share(overall[top]),
        )
    else:
        summary = _("Trop peu de réponses pour publier la répartition de cette question.")
    data = []
    for audience in audiences:
        points = []
        for option in option_keys:
            r = cells.get((option, audience))
            if r is not None and not _hidden(r) and _number(r.get("share")) is not None:
                points.append((options.get(option, option), round(100 * _number(r["share"]), 1)))
        if points:
            data.append(
                {
                    "type": "bar",
                    "orientation": "h",
                    "name": audience_label(audience),
                    "y": [plot_text(_short(p[0], 60)) for p in points],
                    "x": [p[1] for p in points],
                    "marker": {"color": AUDIENCE_COLOURS[audience]},
                }
            )
    figure = None
    if data:
        figure = {
            "data": data,
            "layout": _layout(
                barmode="group",
                margin={"l": 280, "r": 20, "t": 40, "b": 50},
                xaxis={"title": {"text": _("Part des répondants (%)")}, "rangemode": "tozero"},
                yaxis=_categories([plot_text(_short(options.get(o, o), 60)) for o in option_keys]),
                height=140 + 22 * len(option_keys) * max(1, math.ceil(len(data) / 2)),
            ),
        }
    return _chart(
        f"question-{key}",
        f"{key} — {label}" if label != key else key,
        summary,
        _("Réponses à la question %(key)s par public : part des répondants (effectif)", key=key),
        head,
        rows,
        figure,
    )


# --- Free text and Retex ------------------------------------------------------------------------


WEIGHTING_METHODS = {"poststratification": "post-stratification", "raking": "calage sur marges"}


def weighting_note(meta: dict | None, detailed: bool) -> str | None:
    """One sentence on how the weighted shares were computed (compilation notes)."""
    info = (meta or {}).get("weighting")
    if not info:
        return None
    method = WEIGHTING_METHODS.get(str(info.get("method")), str(info.get("method")))
    respondents = info.get("respondents")
    effective = info.get("effective_n")
    if respondents is None or effective is None:
        return _("Parts pondérées par %(method)s.", method=method)
    if not detailed:
        from synthesis import privacy

        if privacy.hidden(respondents):
            return _(
                "Parts pondérées par %(method)s sur la population de référence, avec moins de "
                "10 répondants.",
                method=method,
            )
        # The respondents are a protected count: the same published figure as elsewhere.
        respondents = privacy.perturb(
            privacy.identity("survey_responses", privacy.NATION), int(respondents)
        )
    note = _(
        "Parts pondérées par %(method)s sur la population de référence : taille effective "
        "d’échantillon %(effective)s pour %(respondents)s répondants.",
        method=method,
        effective=score(effective, False, 1),
        respondents=count(respondents, False),
    )
    empty = len(info.get("empty_cells") or [])
    if empty:
        note += " " + ngettext(
            "%(num)s cellule public × académie n’a aucun répondant.",
            "%(num)s cellules public × académie n’ont aucun répondant.",
            empty,
        )
    if info.get("converged") is False:
        note += " " + _("Le calage n’a pas convergé : lisez les parts pondérées avec prudence.")
    return note


def _quote_href(ref: str) -> str | None:
    kind, _sep, ident = (ref or "").partition(":")
    if not ident.isdigit():
        return None
    number = int(ident)
    if kind == "contribution":
        return url_for("forums.contribution", contribution_id=number)
    if kind == "idea":
        return url_for("territories.idea", idea_id=number)
    if kind == "comment":
        from consult.db import db
        from forums.models import Comment

        contribution_id = db.session.query(Comment.contribution_id).filter_by(id=number).scalar()
        if contribution_id is None:
            return None
        return (
            url_for("forums.contribution", contribution_id=contribution_id)
            + f"#commentaire-{number}"
        )
    return None


def topics(tables: dict) -> list[dict]:
    """One entry per corpus: its topics with keywords, size and linked quotes."""
    from synthesis.catalog import CORPUS_LABELS

    df = _table(tables, "topics")
    if not df:
        return []
    out = []
    for corpus in _distinct(df, "corpus"):
        items = []
        for r in _rows(df, corpus=corpus):
            hidden = _hidden(r)
            quotes = []
            for n in (1, 2, 3):
                text = r.get(f"quote_{n}")
                if _missing(text) or not str(text).strip():
                    continue
                ref = r.get(f"quote_{n}_ref")
                quotes.append(
                    {"text": str(text), "href": None if _missing(ref) else _quote_href(str(ref))}
                )
            keywords = r.get("keywords")
            label = r.get("label")  # absent from compilations made before topics had one
            items.append(
                {
                    "topic": str(r["topic"]),
                    "label": "" if _missing(label) else str(label),
                    "size": count(r.get("size"), hidden),
                    "keywords": "" if _missing(keywords) else str(keywords),
                    "quotes": quotes,
                }
            )
        out.append(
            {"corpus": corpus, "label": str(CORPUS_LABELS.get(corpus, corpus)), "topics": items}
        )
    return out


def retex(tables: dict) -> list[dict]:
    from retex.filters import LABELS
    from synthesis.catalog import RETEX_DIMENSION_LABELS

    df = _table(tables, "retex")
    if not df:
        return []
    charts = []
    for dimension in _distinct(df, "dimension"):
        part = _rows(df, dimension=dimension)
        rows, shown = [], {}
        for r in part:
            key = str(r["value_key"])
            if dimension == "academie":
                name = academie_name(key)
            else:
                name = str(LABELS.get(dimension, {}).get(key, key))
            hidden = _hidden(r)
            rows.append([name, count(r.get("sheets"), hidden)])
            if not hidden and _number(r.get("sheets")) is not None:
                shown[name] = _number(r.get("sheets"))
        label = str(RETEX_DIMENSION_LABELS.get(dimension, dimension))
        if shown:
            top = max(shown, key=lambda k: (shown[k], k))
            summary = _(
                "%(label)s : le plus de fiches pour %(top)s (%(count)s).",
                label=label,
                top=top,
                count=count(shown[top]),
            )
        else:
            summary = _("Trop peu de fiches pour publier cette répartition.")
        charts.append(
            _chart(
                f"retex-{dimension}",
                _("Fiches Retex par %(dimension)s", dimension=label.lower()),
                summary,
                _("Fiches Retex publiées par %(dimension)s", dimension=label.lower()),
                [label, _("Fiches")],
                rows,
            )
        )
    return charts


def retex_recent(tables: dict) -> list[dict]:
    df = _table(tables, "retex_recent")
    if not df:
        return []
    return [
        {
            "title": str(r["title"]),
            "href": url_for("retex.show", sheet_id=int(r["sheet_id"])),
            "academie": ""
            if _missing(r.get("academie_code"))
            else academie_name(str(r["academie_code"])),
            "published_at": "" if _missing(r.get("published_at")) else str(r["published_at"])[:10],
        }
        for r in df
    ]


# --- The page -----------------------------------------------------------------------------------


# Rows a page never reads, dropped in pandas before the rows become dicts: the day-by-day and
# académie charts only show all audiences together, the theme charts only whole themes.
PAGE_ROWS = {
    "participation_daily": ("audience", ALL),
    "participation_territory": ("audience", ALL),
    "forum_themes": ("subtheme_slug", ALL),
}


def _prefilter(tables: dict, name: str) -> dict:
    value = tables.get(name)
    if name not in PAGE_ROWS or not isinstance(value, pd.DataFrame) or value.empty:
        return tables
    column, wanted = PAGE_ROWS[name]
    if column not in value.columns:
        return tables
    return {name: value[value[column].astype(str) == wanted]}


def page(tables: dict, national: dict | None, geojson_url: str) -> dict:
    """Every section of a synthesis page, as JSON-ready data (cached by the view)."""
    tables = {name: _table(_prefilter(tables, name), name) for name in PAGE_TABLES}
    if national is not None:
        national = {
            name: _table(national, name) for name in ("participation", "survey_distribution")
        }
    titles = _theme_titles()
    sections = {
        "participation": [
            c
            for c in (
                participation(tables, national),
                participation_daily(tables),
                academie_map(tables, geojson_url),
            )
            if c
        ],
        "forums": [
            c
            for c in (
                forum_audiences(tables, titles),
                forum_balance(tables, titles, "votes"),
                forum_balance(tables, titles, "comments"),
                forum_top(tables, titles, "adopted"),
                forum_top(tables, titles, "debated"),
            )
            if c
        ],
        "consensus": [
            c
            for c in (
                consensus(tables, titles, "consensuelle"),
                consensus(tables, titles, "clivante"),
                consensus_matrix(tables),
            )
            if c
        ],
        "survey": survey_questions(tables, national),
        "topics": topics(tables),
        "retex": retex(tables),
        "retex_recent": retex_recent(tables),
    }
    return sections
