"""French words to search terms, the same way at index time and at query time.

SQLite's FTS5 only splits words; the French stems it is fed come from here (Snowball's French
stemmer, the algorithm PostgreSQL's ``french_stem`` dictionary runs too), with accents folded
after stemming, so « enseignant » meets « enseignants » and « numérique » meets « numeriques ».
The highlighting of excerpts uses the same functions on both databases.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
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


_QUERY_RE = re.compile(r'(-?)"([^"]*)"?|(-?)([^\W_]+)', re.UNICODE)


@dataclass
class Parsed:
    """A typed query read the way PostgreSQL's ``websearch_to_tsquery`` reads it: words (all
    required), « "an exact phrase" », « -excluded » words, « or » between two alternatives."""

    # Alternatives of required items; each item is a phrase of one or more terms.
    groups: list[list[list[str]]] = field(default_factory=list)
    excluded: list[list[str]] = field(default_factory=list)

    @property
    def wanted(self) -> list[str]:
        """The terms to highlight: every required or alternative one, in order."""
        seen: dict[str, None] = {}
        for group in self.groups:
            for item in group:
                for found in item:
                    seen.setdefault(found, None)
        return list(seen)


def parse(query: str | None) -> Parsed:
    parsed = Parsed()
    pending_or = False
    count = 0
    for negated_phrase, phrase, negated_word, word in _QUERY_RE.findall(query or ""):
        if count >= MAX_QUERY_WORDS:
            break
        if word and word.lower() == "or" and not negated_word:
            pending_or = bool(parsed.groups)
            continue
        item = terms(phrase) if phrase or negated_phrase else ([term(word)] if term(word) else [])
        if not item:
            continue
        count += len(item)
        if negated_phrase or negated_word:
            parsed.excluded.append(item)
        elif pending_or:
            parsed.groups[-1].append(item)
        else:
            parsed.groups.append([item])
        pending_or = False
    return parsed


def _fts5_item(item: list[str]) -> str:
    # Terms are letters and digits only: quoted, operators people type stay plain words.
    return '"' + " ".join(item) + '"'


def fts5_match(parsed: Parsed) -> str:
    """The FTS5 MATCH expression of a parsed query; "" when nothing is required (a query of
    exclusions only would read the whole index: it finds nothing, on both databases)."""
    if not parsed.groups:
        return ""
    required = []
    for group in parsed.groups:
        alternatives = [_fts5_item(item) for item in group]
        required.append(
            alternatives[0] if len(group) == 1 else "(" + " OR ".join(alternatives) + ")"
        )
    expression = " AND ".join(required)
    for item in parsed.excluded:
        expression = f"({expression}) NOT {_fts5_item(item)}"
    return expression


# Past this many words without a hit the excerpt is the start of the text (a long text is not
# read to its end for one excerpt).
MAX_SCAN_WORDS = 600


def highlight(text: str | None, wanted: list[str] | set[str], width: int = 36) -> Markup:
    """An excerpt of ``text`` (about ``width`` words) around the first word whose term was
    searched, those words wrapped in ``<mark>``. Everything else is escaped: the text is
    user content, only the marks are ours."""
    text = text or ""
    wanted = set(wanted)
    words: list[tuple[int, int, bool]] = []
    first_hit = -1
    for match in WORD_RE.finditer(text):
        hit = bool(wanted) and term(match.group()) in wanted
        words.append((match.start(), match.end(), hit))
        if hit and first_hit < 0:
            first_hit = len(words) - 1
        if first_hit >= 0 and len(words) >= first_hit + width:
            break
        if first_hit < 0 and len(words) >= MAX_SCAN_WORDS:
            break
    if not words:
        return Markup("")
    # Start a few words before the first hit, so it is read in context.
    first = max(0, first_hit - width // 4) if first_hit >= 0 else 0
    last = min(len(words), first + width)
    first = max(0, last - width)
    more = last < len(words) or WORD_RE.search(text, words[last - 1][1]) is not None
    out: list[str] = ["… " if first > 0 else ""]
    # Escaped a stretch at a time: only the marked words cut the text.
    position = words[first][0]
    for start, end, hit in words[first:last]:
        if hit:
            out.append(str(escape(text[position:start])))
            out.append(f"<mark>{escape(text[start:end])}</mark>")
            position = end
    out.append(str(escape(text[position : words[last - 1][1]])))
    if more:
        out.append(" …")
    return Markup("".join(out))  # noqa: S704 - every piece above is escaped


def sql_stems(value: str | None) -> str:
    """``consult_stems(text)`` in SQLite (registered on every connection by consult.db): the
    FTS5 triggers index what this returns."""
    return index_text(value)
