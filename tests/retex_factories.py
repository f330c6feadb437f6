"""Retex factories. Generated titles carry markup so escaping bugs show up in tests."""

from __future__ import annotations

from consult.db import db
from retex import services
from retex.services import SheetData

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
HTML = b"<!doctype html><script>alert(1)</script>"


def sheet_data(**overrides: object) -> SheetData:
    values: dict = {
        "title": "Prêt de tablettes <script>alert('x')</script>",
        "territory": "academie:16",
        "establishment": "college",
        "school_level": "college",
        "period": "confinement_2020",
        "themes": ["1", "2"],
        "audiences": ["eleve", "parent"],
        "contact_role": "Principal <b>adjoint</b>",
        "context": "Un collège rural où **un élève sur cinq** n'avait pas d'ordinateur.",
        "actions": "Prêt de 120 tablettes <img src=x onerror=alert(1)>.",
        "tools": "ENT, tablettes, clés 4G.",
        "results": "Le décrochage a baissé de moitié.",
        "difficulties": "Zones blanches.",
        "lessons": "Le lien humain compte autant que l'équipement.",
        "transferability": "Transférable avec l'appui du département.",
    }
    values.update(overrides)
    return SheetData(**values)


def make_sheet(author, status: str = "draft", reviewer=None, **overrides):
    """A sheet in the given state, taken through the real workflow."""
    session = db.session
    sheet = services.create_sheet(session, author, sheet_data(**overrides))
    if status in {"submitted", "returned", "published"}:
        services.submit(session, sheet, author)
    if status == "returned":
        services.return_with_comment(session, sheet, reviewer, "À compléter")
    if status == "published":
        services.publish(session, sheet, reviewer)
    return sheet


def form_data(**overrides: object) -> dict:
    data = sheet_data()
    payload = {
        name: getattr(data, name)
        for name in data.__dataclass_fields__
        if name not in {"themes", "audiences"}
    }
    payload["themes"] = data.themes
    payload["audiences"] = data.audiences
    payload.update(overrides)
    return payload
