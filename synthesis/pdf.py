"""A published synthesis as a PDF (fpdf2): title, date, version, text, proposals with their
sources as links, and the figure tables as published (« < 10 » where suppressed).

Only what the public page shows goes in: the publisher is named by role, never by person, and
the figures are the suppressed ones frozen with the version.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import format_date
from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.fonts import FontFace, TextStyle

from consult.config import ROOT
from consult.text import render_markdown
from synthesis import results
from synthesis.results import ScopeInfo
from synthesis.results_models import SourceKind, SynthesisPublication

FONT_DIR = ROOT / "data" / "fonts"
FAMILY = "DejaVu"
MONO = "DejaVuMono"
BLUE = (0, 0, 145)  # DSFR "bleu France"
GREY = (85, 85, 85)
# Core PDF fonts (Courier for code) cannot write most Unicode: code uses DejaVu Sans Mono.
TAG_STYLES = {
    "code": FontFace(family=MONO),
    "pre": TextStyle(font_family=MONO, t_margin=2, b_margin=2),
    "a": FontFace(color=BLUE, emphasis="UNDERLINE"),
    "blockquote": TextStyle(color=GREY, t_margin=2, b_margin=2, l_margin=6),
}


class _Document(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        self.add_font(FAMILY, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FAMILY, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.add_font(FAMILY, "I", str(FONT_DIR / "DejaVuSans-Oblique.ttf"))
        self.add_font(FAMILY, "BI", str(FONT_DIR / "DejaVuSans-BoldOblique.ttf"))
        self.add_font(MONO, "", str(FONT_DIR / "DejaVuSansMono.ttf"))
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(True, margin=18)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"{self.footer_text} — {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0, 0, 0)


def _para(pdf: FPDF, height: float, text: str, link: str | None = None) -> None:
    # The next paragraph starts at the left margin (fpdf2 would leave x at the right end).
    pdf.multi_cell(0, height, text, link=link or "", new_x="LMARGIN", new_y="NEXT")


def _date(value: datetime | None) -> str:
    return format_date(value.date(), "long") if value else ""


def _html(pdf: _Document, markdown: str) -> None:
    if not (markdown or "").strip():
        return
    pdf.set_font(FAMILY, "", 10)
    pdf.write_html(
        str(render_markdown(markdown)),
        font_family=FAMILY,
        tag_styles=TAG_STYLES,
        warn_on_tags_not_matching=False,
    )
    pdf.ln(2)


def _heading(pdf: _Document, text: str, size: float, space: float = 4) -> None:
    pdf.ln(space)
    pdf.set_font(FAMILY, "B", size)
    pdf.set_text_color(*BLUE)
    _para(pdf, size * 0.5, text)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(1)


def render(publication: SynthesisPublication, info: ScopeInfo, base_url: str) -> bytes:
    """The PDF of one published version; ``base_url`` makes its links absolute."""
    from synthesis.results_views import public_url

    page_url = base_url + public_url("synthesis.results_version", info, number=publication.version)
    pdf = _Document(f"{publication.title} — {_('version %(n)d', n=publication.version)}")
    pdf.set_title(publication.title)
    pdf.set_lang("fr")
    pdf.set_creator("Consult")
    pdf.set_subject(info.title)
    pdf.add_page()

    pdf.set_font(FAMILY, "B", 18)
    _para(pdf, 9, publication.title)
    pdf.ln(2)
    pdf.set_font(FAMILY, "", 10)
    pdf.set_text_color(*GREY)
    _para(pdf, 5, info.name)
    _para(
        pdf,
        5,
        _(
            "Version %(n)d publiée le %(date)s par : %(publisher)s",
            n=publication.version,
            date=_date(publication.published_at),
            publisher=results.publisher_label(publication),
        ),
    )
    if publication.compiled_at:
        _para(pdf, 5, _("Chiffres compilés le %(date)s", date=_date(publication.compiled_at)))
    pdf.set_text_color(*BLUE)
    _para(pdf, 5, page_url, link=page_url)
    pdf.set_text_color(0, 0, 0)

    if publication.introduction:
        _heading(pdf, _("Introduction"), 13)
        _html(pdf, publication.introduction)

    _proposals(pdf, publication, base_url)

    if publication.conclusion:
        _heading(pdf, _("Conclusion"), 13)
        _html(pdf, publication.conclusion)

    tables = results.figure_tables(
        publication.figures, publication.figure_names, limit=results.PDF_ROWS
    )
    if tables:
        _heading(pdf, _("Chiffres de la consultation"), 13, space=6)
        pdf.set_font(FAMILY, "", 9)
        _para(
            pdf,
            4.5,
            _(
                "Les chiffres construits sur moins de 10 personnes sont masqués (« < 10 »), "
                "ainsi que ceux qui permettraient de les retrouver par différence."
            ),
        )
        for table in tables:
            _figure(pdf, table, base_url, info, publication.version)
    return bytes(pdf.output())


def _proposals(pdf: _Document, publication: SynthesisPublication, base_url: str) -> None:
    if not publication.proposals:
        return
    _heading(pdf, _("Propositions"), 13, space=6)
    groups: dict[str, tuple[str, list]] = {}
    for proposal in sorted(publication.proposals, key=lambda p: (p.position, p.id)):
        groups.setdefault(proposal.theme_slug, (proposal.theme_title, []))[1].append(proposal)
    number = 0
    for theme_title, proposals in groups.values():
        _heading(pdf, theme_title, 11, space=3)
        for proposal in proposals:
            number += 1
            pdf.set_font(FAMILY, "B", 10.5)
            _para(pdf, 5.5, f"{number}. {proposal.title}")
            pdf.ln(1)
            _html(pdf, proposal.text)
            if proposal.sources:
                pdf.set_font(FAMILY, "B", 9)
                _para(pdf, 4.5, _("Sources :"))
                for source in proposal.sources:
                    url = base_url + source.url
                    pdf.set_font(FAMILY, "", 9)
                    pdf.set_x(pdf.l_margin + 4)
                    pdf.set_text_color(0, 0, 0)
                    kind = SourceKind(source.kind).label
                    line = f"• {kind} : {source.label}"
                    if source.finding:
                        line += f" — {source.finding}"
                    _para(pdf, 4.5, line)
                    pdf.set_x(pdf.l_margin + 8)
                    pdf.set_text_color(*BLUE)
                    pdf.set_font(FAMILY, "", 8)
                    _para(pdf, 4, url, link=url)
                    pdf.set_text_color(0, 0, 0)
            pdf.ln(2)


def _figure(
    pdf: _Document, table: results.FigureTable, base_url: str, info: ScopeInfo, version: int
) -> None:
    from synthesis.results_views import public_url

    _heading(pdf, table.title, 10.5, space=4)
    pdf.set_font(FAMILY, "", 8.5)
    pdf.set_text_color(*GREY)
    _para(pdf, 4, table.description)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(1)
    if not table.rows:
        pdf.set_font(FAMILY, "I", 9)
        _para(pdf, 4.5, _("Aucune donnée dans ce tableau."))
        return
    size = 7.5 if len(table.headers) <= 6 else 6
    pdf.set_font(FAMILY, "", size)
    with pdf.table(
        headings_style=FontFace(emphasis="BOLD", fill_color=(232, 237, 255)),
        line_height=size * 0.55,
        text_align="LEFT",
        padding=0.8,
        repeat_headings=1,
    ) as grid:
        header = grid.row()
        for label in table.headers:
            header.cell(label)
        for values in table.rows:
            row = grid.row()
            for value in values:
                row.cell(value)
    if table.truncated:
        csv_url = base_url + public_url(
            "synthesis.results_table_csv", info, number=version, name=table.name
        )
        pdf.set_font(FAMILY, "I", 8)
        _para(
            pdf,
            4,
            _(
                "%(shown)d premières lignes sur %(total)d ; le tableau complet : %(url)s",
                shown=len(table.rows),
                total=table.total,
                url=csv_url,
            ),
            link=csv_url,
        )
