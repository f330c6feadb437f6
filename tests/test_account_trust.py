"""Issue 10 (trust) on accounts: the reserved « Compte supprimé » label, blocked accounts,
deletion across packages and contact details in public text."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from consult.models import User
from consult.security import is_reserved_pseudonym, pseudonym_problem

REGISTER = "/compte/inscription"
VALID = {
    "pseudonym": "Prof_Poitevin",
    "email": "prof.poitiers@exemple.test",
    "password": "des craies et des tablettes",
    "password_confirm": "des craies et des tablettes",
    "audience": "professeur",
    "academie": "13",
    "departement": "86",
    "accept_terms": "y",
}

# --- « Compte supprimé » is reserved ----------------------------------------------------------

DISGUISES = [
    "Compte supprimé",
    "compte supprime",
    "COMPTE SUPPRIMÉ",
    "Compte  Supprimé",
    "Compte_supprimé",
    "Compte-supprimé",
    "Compte.supprime",
    "Comptesupprimé",
    "Compte supprime\u0301",  # combining accent
    "ｃｏｍｐｔｅ ｓｕｐｐｒｉｍé",  # fullwidth letters (NFKC)
    "Сомрtе suррrimé",  # Cyrillic С, о, м... look-alikes
    "C0mpte supprim3",
    "Compte supprimé 2",
    "Deleted account",
]


@pytest.mark.parametrize("name", DISGUISES)
def test_every_spelling_of_the_deleted_label_is_reserved(name) -> None:
    assert is_reserved_pseudonym(name)


@pytest.mark.parametrize("name", ["Compte rendu", "Suppléante", "Comptable_86", "Zoé"])
def test_ordinary_names_are_not_reserved(name) -> None:
    assert not is_reserved_pseudonym(name)


@pytest.mark.parametrize("name", [*DISGUISES[:8], "Сомрtе suррrimé"])
def test_registration_refuses_the_deleted_label(app, client, session, name) -> None:
    response = client.submit(REGISTER, VALID | {"pseudonym": name})
    assert response.status_code == 422
    assert "réservé" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_profile_edit_refuses_the_deleted_label(client, user, session) -> None:
    client.login(user.email)
    before = user.pseudonym
    response = client.submit(
        "/compte/profil",
        {"pseudonym": "compte  SUPPRIMÉ", "audience": "professeur", "academie": "13"},
    )
    assert response.status_code == 422
    assert "réservé" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, user.id).pseudonym == before


def test_service_refuses_the_deleted_label_without_the_form(app, session) -> None:
    from consult.accounts.services import AccountError, ProfileData, register

    with app.test_request_context(), pytest.raises(AccountError) as refused:
        register(
            session,
            ProfileData(pseudonym="Compte_Supprimé", audience="parent", academie_code="13"),
            "x@exemple.test",
            "des craies et des tablettes",
        )
    assert "réservé" in refused.value.message


def test_reserved_message_is_french(app) -> None:
    with app.test_request_context():
        assert "réservé" in pseudonym_problem("Compte supprimé")
