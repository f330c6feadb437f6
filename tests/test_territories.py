from __future__ import annotations

from sqlalchemy import func, select

from consult.models import Academie, Departement, RegionAcademique
from consult.territories import catalog, load_territories


def test_reference_counts_and_hierarchy() -> None:
    cat = catalog()
    assert len(cat.regions) == 18
    assert len(cat.academies) == 30
    assert len(cat.departements) == 101
    # Every département maps to exactly one existing académie, every académie to one région.
    for dept in cat.departements.values():
        assert dept.academie_code in cat.academies, dept
    for acad in cat.academies.values():
        assert acad.region_code in cat.regions, acad
        assert acad.departement_codes, f"{acad.name} has no département"
    for region in cat.regions.values():
        assert region.academie_codes, f"{region.name} has no académie"
    assert sum(len(a.departement_codes) for a in cat.academies.values()) == 101
    assert sum(len(r.academie_codes) for r in cat.regions.values()) == 30


def test_2020_changes_are_in_the_reference() -> None:
    cat = catalog()
    names = {a.name for a in cat.academies.values()}
    assert "Normandie" in names and "Mayotte" in names
    assert "Caen" not in names and "Rouen" not in names
    normandie = cat.academie_by_slug("normandie")
    assert normandie is not None
    assert set(normandie.departement_codes) == {"14", "27", "50", "61", "76"}
    assert cat.departements["976"].academie_code == cat.academie_by_slug("mayotte").code


def test_well_known_mappings() -> None:
    cat = catalog()
    poitiers = cat.academie_by_slug("poitiers")
    assert poitiers is not None
    assert set(poitiers.departement_codes) == {"16", "17", "79", "86"}
    assert cat.regions[poitiers.region_code].name == "Nouvelle-Aquitaine"
    ile_de_france = cat.region_by_slug("ile-de-france")
    assert {cat.academies[c].name for c in ile_de_france.academie_codes} == {
        "Créteil",
        "Paris",
        "Versailles",
    }
    toulouse = cat.academie_by_slug("toulouse")
    assert cat.regions[toulouse.region_code].name == "Occitanie"


def test_load_is_idempotent(session) -> None:
    # The session-wide database was loaded once already; loading again changes nothing.
    assert load_territories(session) == {"regions": 0, "academies": 0, "departements": 0}
    assert session.scalar(select(func.count()).select_from(RegionAcademique)) == 18
    assert session.scalar(select(func.count()).select_from(Academie)) == 30
    assert session.scalar(select(func.count()).select_from(Departement)) == 101


def test_load_repairs_a_changed_name(session) -> None:
    acad = session.get(Academie, "13")
    acad.name = "Poitiers (modifiée)"
    session.flush()
    assert load_territories(session)["academies"] == 1
    assert session.get(Academie, "13").name == "Poitiers"


def test_academie_label_elides_before_a_vowel(app) -> None:
    from consult.territories import academie_label

    with app.test_request_context():
        assert academie_label("Toulouse") == "Académie de Toulouse"
        assert academie_label("Amiens") == "Académie d’Amiens"
        assert academie_label("Orléans-Tours", capital=False) == "académie d’Orléans-Tours"
    with app.test_request_context("/?lang=en"):
        assert academie_label("Aix-Marseille") == "Académie of Aix-Marseille"
