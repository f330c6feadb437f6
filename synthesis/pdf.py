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
from consult.territories import Scope
from consult.text import render_markdown
from synthesis import results
from synthesis.results_models import SynthesisPublication

FONT_DIR = ROOT / "data" / "fonts"
FAMILY = "DejaVu"
BLUE = (0, 0, 145)  # DSFR "bleu France"
GREY = (85, 85, 85)
# Core PDF fonts (Courier for code) cannot write most Unicode: code stays in DejaVu Sans.
TAG_STYLES = {
    "code": FontFace(family=FAMILY, color=GREY),
    "pre": TextStyle(font_family=FAMILY, color=GREY, t_margin=2, b_margin=2),
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


def render(publication: SynthesisPublication, info: Scope, base_url: str) -> bytes:
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
    _para(pdf, 5, info.label)
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
                "Pour protéger les personnes, les effectifs publiés sont légèrement perturbés "
                "(de 3 au plus) et ceux de moins de 10 personnes sont masqués "
                "(« secret statistique ») : un total peut différer de la somme de ses parties."
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
                    kind = source.kind_label
                    if source.removed:
                        # Moderation took the item down since publication: no title, no link.
                        _para(pdf, 4.5, f"• {kind} : « {source.shown_label} »")
                        continue
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


def _width(pdf: FPDF, text: str) -> float:
    """The text's width in the current font, from the glyph widths: FPDF.get_string_width
    prepares bidirectional text first and costs a hundred times more."""
    widths = pdf.current_font.cw
    return sum(widths[ord(c)] for c in text) * pdf.font_size_pt * 0.001 / pdf.k


def _longest_word(pdf: FPDF, text: str) -> float:
    return max((_width(pdf, w) for w in text.split(" ")), default=0.0)


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """Greedy word wrap measured once per word; a word wider than the column is cut."""
    space = _width(pdf, " ")
    lines: list[str] = []
    current, current_width = "", 0.0
    # Split on plain spaces only: « 50,0\u202f% » stays on one line.
    for word in (w for w in text.split(" ") if w):
        word_width = _width(pdf, word)
        if current and current_width + space + word_width <= width:
            current, current_width = f"{current} {word}", current_width + space + word_width
            continue
        if current:
            lines.append(current)
        while word_width > width and len(word) > 1:
            cut = max(1, int(len(word) * width / word_width))
            lines.append(word[:cut])
            word = word[cut:]
            word_width = _width(pdf, word)
        current, current_width = word, word_width
    lines.append(current)
    return lines


def _grid(pdf: FPDF, headers: list[str], rows: list[list[str]], size: float) -> None:
    """A bordered table drawn cell by cell with its own wrapping: fpdf2's table() re-measures
    every character as it breaks lines and took a minute for a dozen 60-row tables."""
    pad, line = 0.8, size * 0.42
    pdf.set_font(FAMILY, "B", size)
    natural = [_width(pdf, h) for h in headers]
    # A column is at least as wide as its longest word, heading included (up to 18 mm).
    minimum = [_longest_word(pdf, h) for h in headers]
    pdf.set_font(FAMILY, "", size)
    for row in rows:
        for j, value in enumerate(row):
            natural[j] = max(natural[j], _width(pdf, value))
            minimum[j] = max(minimum[j], _longest_word(pdf, value))
    minimum = [min(m, 18.0) + 2 * pad for m in minimum]
    natural = [
        max(min(w, pdf.epw * 0.4) + 2 * pad, m) for w, m in zip(natural, minimum, strict=True)
    ]
    widths = natural
    if sum(natural) > pdf.epw:
        spare = pdf.epw - sum(minimum)
        extra = [n - m for n, m in zip(natural, minimum, strict=True)]
        if spare > 0 and sum(extra) > 0:
            widths = [m + e * spare / sum(extra) for m, e in zip(minimum, extra, strict=True)]
        else:
            widths = [w * pdf.epw / sum(natural) for w in natural]

    def draw(cells: list[str], bold: bool) -> None:
        pdf.set_font(FAMILY, "B" if bold else "", size)
        wrapped = [_wrap(pdf, text, w - 2 * pad) for text, w in zip(cells, widths, strict=True)]
        height = max(len(lines) for lines in wrapped) * line + 2 * pad
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
            if not bold:
                draw(headers, True)
                pdf.set_font(FAMILY, "", size)
        x, y = pdf.l_margin, pdf.get_y()
        for lines, w in zip(wrapped, widths, strict=True):
            pdf.rect(x, y, w, height, style="DF" if bold else "D")
            for k, text in enumerate(lines):
                pdf.text(x + pad, y + pad + line * (k + 0.8), text)
            x += w
        pdf.set_y(y + height)

    pdf.set_draw_color(180, 180, 180)
    pdf.set_fill_color(232, 237, 255)
    draw(headers, True)
    for row in rows:
        draw(row, False)
    pdf.set_draw_color(0, 0, 0)
    pdf.ln(1)


def _figure(
    pdf: _Document, table: results.FigureTable, base_url: str, info: Scope, version: int
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
    _grid(pdf, table.headers, table.rows, 7.5 if len(table.headers) <= 6 else 6)
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
