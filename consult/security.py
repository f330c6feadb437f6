"""Password hashing, identity normalisation and the checks on pseudonyms and passwords."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask_babel import gettext as _

from consult.config import ROOT

_hasher = PasswordHasher()
# Verifying against this hash when the account does not exist keeps login time the same either
# way, so timing does not reveal which emails have an account.
_DUMMY_HASH = _hasher.hash("consult-timing-equaliser")

PASSWORD_MAX_LENGTH = 128
PSEUDONYM_MIN_LENGTH = 3
PSEUDONYM_MAX_LENGTH = 30
_PSEUDONYM_RE = re.compile(r"^[\w][\w .'\-]*[\w]$", re.UNICODE)
_EMAIL_LIKE_RE = re.compile(
    r"@|\b[\w-]+\.(fr|com|net|org|eu|io|info|edu|gouv|be|ch|ca)\b|\bat\b.*\bdot\b", re.I
)
_PHONE_LIKE_RE = re.compile(r"(?:\d[\s.\-]?){8,}")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        _safe_verify(_DUMMY_HASH, password)
        return False
    return _safe_verify(password_hash, password)


def _safe_verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def fold(value: str) -> str:
    """Case- and accent-insensitive key: "Zoé_B" and "zoe_b" collide."""
    value = unicodedata.normalize("NFKD", value)
    value = "".join(c for c in value if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", value).strip().casefold()


def normalise_email(value: str) -> str:
    """Checked syntax, normalised form; no DNS lookup (no request leaves the machine).

    Raises ``ValueError`` with nothing personal in it when the address is not valid.
    """
    from email_validator import EmailNotValidError, validate_email
    from flask import current_app

    try:
        result = validate_email(
            value.strip(),
            check_deliverability=False,
            # Tests use the reserved .test domain, refused elsewhere as a special-use name.
            test_environment=current_app.config.get("ENV_NAME") == "testing",
        )
    except EmailNotValidError as exc:
        raise ValueError("invalid email address") from exc
    return result.normalized


def email_key(email: str) -> str:
    return email.strip().casefold()


@lru_cache(maxsize=1)
def _blocklist() -> tuple[str, ...]:
    path = ROOT / "data" / "moderation" / "pseudonym_blocklist.txt"
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.append(fold(line))
    return tuple(words)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    path = ROOT / "data" / "security" / "common_passwords.txt"
    return frozenset(
        line.strip().casefold()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )


def pseudonym_problem(pseudonym: str) -> str | None:
    """The French reason a pseudonym is refused, or None if it is acceptable."""
    value = pseudonym.strip()
    if len(value) < PSEUDONYM_MIN_LENGTH or len(value) > PSEUDONYM_MAX_LENGTH:
        return _(
            "Le pseudonyme doit compter entre %(min)d et %(max)d caractères.",
            min=PSEUDONYM_MIN_LENGTH,
            max=PSEUDONYM_MAX_LENGTH,
        )
    if is_reserved_pseudonym(value):
        return _(
            "Ce pseudonyme est réservé (il désigne un compte supprimé ou l'équipe de la "
            "plateforme). Merci d'en choisir un autre."
        )
    if _EMAIL_LIKE_RE.search(value):
        return _(
            "Le pseudonyme ne doit pas ressembler à une adresse électronique ou à un site : "
            "il est public."
        )
    if _PHONE_LIKE_RE.search(value):
        return _("Le pseudonyme ne doit pas contenir de numéro de téléphone : il est public.")
    if not _PSEUDONYM_RE.match(value):
        return _(
            "Le pseudonyme peut contenir des lettres, des chiffres, des espaces, des points, "
            "des tirets et des apostrophes, et doit commencer et finir par une lettre "
            "ou un chiffre."
        )
    folded = fold(value)
    compact = re.sub(r"[^a-z0-9]", "", folded)
    for word in _blocklist():
        # Long words are caught even when glued or disguised with separators; short ones only as
        # whole words, so "Constance" is not refused for containing "con".
        if (len(word) >= 6 and word.replace(" ", "") in compact) or re.search(
            rf"\b{re.escape(word)}\b", folded
        ):
            return _("Ce pseudonyme n'est pas accepté. Merci d'en choisir un autre.")
    return None


# Names the platform itself shows: the label of a deleted author (French and English, the two
# locales) and the staff. Compared by skeleton, so spacing, case, accents or disguises do not help.
_RESERVED_SKELETONS = frozenset(
    {
        "comptesupprime",
        "deletedaccount",
        "admin",
        "administrateur",
        "moderateur",
        "moderation",
    }
)
# Latin look-alikes NFKC leaves alone (Cyrillic, Greek) and digits used as letters: enough to
# stop « Соmptе suррrimé » written with Cyrillic о, е, р.
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
        "ԁ": "d", "ԛ": "q", "ԝ": "w", "ո": "n", "ս": "u",
        "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "τ": "t", "υ": "u", "χ": "x", "μ": "m",
        "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
        "ı": "i", "ℓ": "l",
    }
)  # fmt: skip


def pseudonym_skeleton(value: str) -> str:
    """NFKC, casefold, look-alikes mapped to Latin, accents stripped, letters only:
    « COMPTE  Supprimé », « compte_supprime » and fullwidth or Cyrillic disguises share one
    skeleton."""
    value = unicodedata.normalize("NFKC", value).casefold().translate(_CONFUSABLES)
    value = unicodedata.normalize("NFKD", value)
    value = "".join(c for c in value if not unicodedata.combining(c))
    return re.sub(r"[^a-z]", "", value.translate(_CONFUSABLES))


def is_reserved_pseudonym(value: str) -> bool:
    return pseudonym_skeleton(value) in _RESERVED_SKELETONS


def password_problem(password: str, pseudonym: str = "", email: str = "") -> str | None:
    """The French reason a password is refused, or None if it is acceptable."""
    from flask import current_app

    minimum = current_app.config.get("PASSWORD_MIN_LENGTH", 12)
    if len(password) < minimum:
        return _("Le mot de passe doit compter au moins %(min)d caractères.", min=minimum)
    if len(password) > PASSWORD_MAX_LENGTH:
        return _(
            "Le mot de passe ne doit pas dépasser %(max)d caractères.", max=PASSWORD_MAX_LENGTH
        )
    if len(set(password)) < 5:
        return _("Le mot de passe est trop répétitif.")
    lowered = password.casefold()
    if lowered in _common_passwords():
        return _("Ce mot de passe est trop courant. Choisissez-en un autre.")
    folded_password = fold(password)
    for identity in (pseudonym, email.split("@")[0] if email else ""):
        key = fold(identity)
        if len(key) >= 3 and key in folded_password:
            return _("Le mot de passe ne doit pas contenir votre pseudonyme ou votre adresse.")
    return None
