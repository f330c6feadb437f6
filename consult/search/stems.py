"""French words to search terms, the same way at index time and at query time.

SQLite's FTS5 only splits words; the French stems it is fed come from here (Snowball's French
stemmer, the algorithm PostgreSQL's ``french_stem`` dictionary runs too), with accents folded
after stemming, so « enseignant » meets « enseignants » and « numérique » meets « numeriques ».
The highlighting of excerpts uses the same functions on both databases.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer
from markupsafe import Markup, escape

WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
# A query is a handful of words: more is either a paste or an attempt to make the query costly.
MAX_QUERY_WORDS = 12

# PostgreSQL's french.stop list (snowball), folded: the words both engines ignore, so a query
# such as « accès au numérique » does not require « au » on SQLite while PostgreSQL drops it.
STOP_WORDS = frozenset(
    [
        "au",
        "aux",
        "avec",
        "ce",
        "ces",
        "dans",
        "de",
        "des",
        "du",
        "elle",
        "en",
        "et",
        "eux",
        "il",
        "ils",
        "je",
        "la",
        "le",
        "les",
        "leur",
        "lui",
        "ma",
        "mais",
        "me",
        "meme",
        "mes",
        "moi",
        "mon",
        "ne",
        "nos",
        "notre",
        "nous",
        "on",
        "ou",
        "par",
        "pas",
        "pour",
        "qu",
        "que",
        "qui",
        "sa",
        "se",
        "ses",
        "son",
        "sur",
        "ta",
        "te",
        "tes",
        "toi",
        "ton",
        "tu",
        "un",
        "une",
        "vos",
        "votre",
        "vous",
        "c",
        "d",
        "j",
        "l",
        "a",
        "m",
        "n",
        "s",
        "t",
        "y",
        "ete",
        "etee",
        "etees",
        "etes",
        "etant",
        "etante",
        "etants",
        "etantes",
        "suis",
        "es",
        "est",
        "sommes",
        "etes",
        "sont",
        "serai",
        "seras",
        "sera",
        "serons",
        "serez",
        "seront",
        "serais",
        "serait",
        "serions",
        "seriez",
        "seraient",
        "etais",
        "etait",
        "etions",
        "etiez",
        "etaient",
        "fus",
        "fut",
        "fumes",
        "futes",
        "furent",
        "sois",
        "soit",
        "soyons",
        "soyez",
        "soient",
        "fusse",
        "fusses",
        "fut",
        "fussions",
        "fussiez",
        "fussent",
        "ayant",
        "ayante",
        "ayantes",
        "ayants",
        "eu",
        "eue",
        "eues",
        "eus",
        "ai",
        "as",
        "avons",
        "avez",
        "ont",
        "aurai",
        "auras",
        "aura",
        "aurons",
        "aurez",
        "auront",
        "aurais",
        "aurait",
        "aurions",
        "auriez",
        "auraient",
        "avais",
        "avait",
        "avions",
        "aviez",
        "avaient",
        "eut",
        "eumes",
        "eutes",
        "eurent",
        "aie",
        "aies",
        "ait",
        "ayons",
        "ayez",
        "aient",
        "eusse",
        "eusses",
        "eut",
        "eussions",
        "eussiez",
        "eussent",
    ]
)

_stemmer = snowballstemmer.stemmer("french")


def fold(value: str) -> str:
    """Lower case without accents (« Élève » → « eleve »)."""
    decomposed = unicodedata.normalize("NFKD", value.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=200_000)
def term(word: str) -> str:
    """The search term of one word: stemmed with its accents (Snowball's French rules read
    them), then folded; "" for a stop word."""
    lowered = word.lower()
    if fold(lowered) in STOP_WORDS:
        return ""
    return fold(_stemmer.stemWord(lowered))


def terms(text: str | None) -> list[str]:
    return [t for t in (term(w) for w in WORD_RE.findall(text or "")) if t]


def index_text(*parts: str | None) -> str:
    """What the FTS5 tables store: the terms of the text, separated by spaces."""
    return " ".join(terms(" ".join(p for p in parts if p)))


def query_terms(query: str | None) -> list[str]:
    """The distinct terms of a typed query, in order, at most MAX_QUERY_WORDS."""
    seen: dict[str, None] = {}
    for word in WORD_RE.findall(query or "")[: MAX_QUERY_WORDS * 2]:
        found = term(word)
        if found:
            seen.setdefault(found, None)
    return list(seen)[:MAX_QUERY_WORDS]


def fts5_match(query_terms: list[str]) -> str:
    """An FTS5 MATCH expression requiring every term. Each is quoted, so operators people type
    (NEAR, AND, *, ^, quotes) stay plain words; terms are letters and digits only anyway."""
    return " ".join('"' + t.replace('"', "") + '"' for t in query_terms)


_TOKEN_RE = re.compile(r"([^\W_]+)|([\W_]+)", re.UNICODE)


def highlight(text: str | None, wanted: list[str] | set[str], width: int = 36) -> Markup:
    """An excerpt of ``text`` (about ``width`` words) around the first word whose term was
    searched, those words wrapped in ``<mark>``. Everything else is escaped: the text is
    user content, only the marks are ours."""
    tokens = _TOKEN_RE.findall(text or "")
    wanted = set(wanted)
    words = [i for i, (word, _sep) in enumerate(tokens) if word]
    hits = [i for i in words if term(tokens[i][0]) in wanted] if wanted else []
    if not words:
        return Markup("")
    # Start a few words before the first hit, so it is read in context.
    position = words.index(hits[0]) if hits else 0
    first = max(0, position - width // 4)
    last = min(len(words), first + width)
    first = max(0, last - width)
    start, end = words[first], words[last - 1] + 1
    hit_set = set(hits)
    out: list[str] = ["… " if first > 0 else ""]
    for i in range(start, end):
        word, separator = tokens[i]
        if word:
            out.append(f"<mark>{escape(word)}</mark>" if i in hit_set else str(escape(word)))
        else:
            out.append(str(escape(separator)))
    if last < len(words):
        out.append(" …")
    return Markup("".join(out))  # noqa: S704 - every piece above is escaped


def sql_stems(value: str | None) -> str:
    """``consult_stems(text)`` in SQLite (registered on every connection by consult.db): the
    FTS5 triggers index what this returns."""
    return index_text(value)
