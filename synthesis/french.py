"""French text for the topic model: plain text, tokens, stop words and cached lemmas.

Everything here is offline: the stop words are shipped in ``data/synthesis/stopwords-fr.txt``
and lemmas come from simplemma's bundled dictionary. A compilation analyses the same texts for
the nation, its région and its académie, so both the lemma of a word and the analysis of a whole
text are cached for the life of the process.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

import nh3
import simplemma

from consult.text import EMAIL_RE, PHONE_RE, mask_personal_data
from consult.text import plain_text as markdown_plain_text

STOPWORDS_PATH = Path(__file__).resolve().parent.parent / "data" / "synthesis" / "stopwords-fr.txt"

# Elided articles, pronouns and conjunctions: « l'école » is « école », « qu'ils » is « ils ».
ELISIONS = frozenset(
    {"l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu"}
)
_APOSTROPHES = ("’", "ʼ", "‘", "`", "´")

# A word: letters (accented included), possibly joined by apostrophes or hyphens; digits and
# underscores are not letters, so numbers never become keywords. Or a clause boundary: a
# bigram never spans a full stop, a comma or a line break.
_TOKEN_RE = re.compile(r"([^\W\d_]+(?:['-][^\W\d_]+)*)|([.!?;:,()\[\]{}«»\"\n\r\t…/|]+)")
_SENTENCE_END = frozenset(".!?…\n")
_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_SPACE_RE = re.compile(r"\s+")
_DIGIT_RE = re.compile(r"\d")
_MASKS_RE = re.compile(r"\[(?:adresse masquée|téléphone masqué)\]")
# « ENT » is what French schools call the espace numérique de travail; folding the phrase into
# its acronym keeps it one readable term once « numérique » is a stop word.
_PHRASES = ((re.compile(r"\bespaces?\s+num[ée]riques?\s+de\s+travail\b", re.IGNORECASE), "ENT"),)

MIN_WORD_LENGTH = 2


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    words: set[str] = set()
    for line in STOPWORDS_PATH.read_text(encoding="utf-8").splitlines():
        words.update(line.split("|", 1)[0].lower().split())
    return frozenset(words)


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """The lemma of a lowercase word (« tablettes » → « tablette »), cached per word."""
    return simplemma.lemmatize(word, lang="fr").lower()


def _without_markup(text: str) -> str:
    # The engine passes stored bodies (limited Markdown; HTML is never rendered, but people may
    # still have typed tags). Tags go, entities become characters, contact details and links go.
    # Each pass runs only when its telltale character is there: most texts need none.
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _TAG_RE.sub(" ", text)
    if "[" in text:
        # The engine may mask contact details before us: its markers are not words people wrote.
        text = _MASKS_RE.sub(" ", text)
    if "@" in text:
        text = EMAIL_RE.sub(" ", text)
    if _DIGIT_RE.search(text):
        text = PHONE_RE.sub(" ", text)
    if "http" in text or "www" in text or "HTTP" in text or "WWW" in text:
        text = _URL_RE.sub(" ", text)
    return text


def _surface(word: str, initial: bool) -> str:
    # Written forms are kept as written (« Toulouse », « Pix », ENT, RGPD), except the capital
    # a sentence starts with: « Tablettes » there is the « tablettes » of anywhere else.
    if initial and not (len(word) > 1 and word.isupper()):
        return word.lower()
    return word


# Words that may stand inside a noun phrase: « formation des enseignants », « protection de
# l'enfance », « accès à internet ». Any other stop word (« et », « sont », « pour »…) ends it.
LINKERS = frozenset({"de", "des", "du", "d", "la", "le", "les", "l", "à", "au", "aux", "en"})
_MAX_LINKERS = 2

Token = tuple[str, str]  # (lemma, written form)
# What the scanner yields: a content word, a linker's written form, or None (a boundary).
_Item = Token | str | None


# The last part of a verb-pronoun inversion (« a-t-il », « pensez-vous », « est-ce ») or of a
# demonstrative (« celle-ci », « ce jour-là »): such words are split, other compounds kept
# whole (« sous-titres », « grands-parents », « wi-fi », « arc-en-ciel »).
_INVERSIONS = frozenset(
    {"je", "tu", "il", "elle", "on", "nous", "vous", "ils", "elles", "ce", "t", "moi", "toi"}
    | {"lui", "leur", "y", "en", "le", "la", "les", "là", "ci"}
)


def _word(word: str, initial: bool) -> _Item:
    low = word.lower()
    if low in LINKERS:
        return low
    stops = stop_words()
    if len(word) < MIN_WORD_LENGTH or low in stops or "'" in low:
        return None
    base = lemma(low)
    return None if base in stops else (base, _surface(word, initial))


@lru_cache(maxsize=200_000)
def _classify(word: str, initial: bool) -> tuple[_Item, ...]:
    """The items of one written word (``initial``: it starts a sentence), cached: a corpus has
    a few thousand distinct words and each is seen many times."""
    items: list[_Item] = []
    head, apostrophe, tail = word.partition("'")
    if apostrophe and head.lower() in ELISIONS:
        items.append(f"{head.lower()}'" if head.lower() in LINKERS else None)
        word, initial = tail, initial and tail[:1].isupper()
    # A word whose apostrophe is no elision (« aujourd'hui ») stays whole: a stop word or
    # nothing, since no content word keeps an apostrophe.
    pieces = word.split("-")
    if len(pieces) > 1 and (pieces[-1].lower() in _INVERSIONS or word.lower() in stop_words()):
        items.extend(_word(piece, initial and i == 0) for i, piece in enumerate(pieces))
    else:
        items.append(_word(word, initial))
    return tuple(items)


def _scan(text: str) -> list[_Item]:
    text = _without_markup(text)
    for typographic in _APOSTROPHES:
        text = text.replace(typographic, "'")
    if "travail" in text or "TRAVAIL" in text or "Travail" in text:
        for pattern, replacement in _PHRASES:
            text = pattern.sub(replacement, text)
    items: list[_Item] = []
    initial = True
    for word, boundary in _TOKEN_RE.findall(text):
        if word:
            items.extend(_classify(word, initial))
            initial = False
        else:
            items.append(None)
            initial = initial or not _SENTENCE_END.isdisjoint(boundary)
    items.append(None)
    return items


def tokens(text: str | None) -> list[Token | None]:
    """(lemma, written form) of the content words of ``text``, stop words and elisions removed;
    ``None`` marks a boundary (punctuation or a stop word that is not a linker) between them."""
    if not text:
        return []
    result: list[Token | None] = []
    for item in _scan(text):
        if isinstance(item, tuple):
            result.append(item)
        elif item is None and result and result[-1] is not None:
            result.append(None)
    return result


def _join(words: list[str]) -> str:
    # « de » + « l' » + « enfance » → « de l'enfance »: no space after an elided linker.
    text = ""
    for word in words:
        text += word if not text or text.endswith("'") else f" {word}"
    return text


_VERB_ENDINGS = ("er", "ir", "oir")


def _conjugated(token: Token) -> bool:
    """A conjugated verb or participle (« restera », « financent », « formés »): its lemma is
    an infinitive it differs from, other than by a plural s or x (« ateliers » is a noun)."""
    base, written = token
    if not base.endswith(_VERB_ENDINGS):
        return False
    written = written.lower()
    return written not in (base, base + "s", base + "x")


@lru_cache(maxsize=16_384)
def analyse(text: str) -> tuple[Token, ...]:
    """(feature, written form) pairs of a text: every content lemma, then every phrase of two
    content words, next to each other or linked by at most two linkers, as a lemma pair
    (« réseau social » written « réseaux sociaux », « formation enseignant » written
    « formation des enseignants »). Bigrams never cross punctuation or « et », « sont »… and
    never hold a conjugated verb.

    Cached on the text: a compilation sees a text once per scope that contains it. The cache
    holds about 4 KB a text, so 16,384 texts stay under 70 MB.
    """
    if not text:
        return ()
    unigrams: list[Token] = []
    bigrams: list[Token] = []
    previous: Token | None = None
    linkers: list[str] = []
    for item in _scan(text):
        if item is None:
            previous, linkers = None, []
        elif isinstance(item, str):
            linkers.append(item)
            if len(linkers) > _MAX_LINKERS:
                previous, linkers = None, []
        else:
            unigrams.append(item)
            # A phrase is a noun phrase: « mesure restera » (noun + verb) is two keywords.
            if (
                previous is not None
                and previous[0] != item[0]
                and not _conjugated(previous)
                and not _conjugated(item)
            ):
                surface = _join([previous[1], *linkers, item[1]])
                bigrams.append((f"{previous[0]} {item[0]}", surface))
            previous, linkers = item, []
    return tuple(unigrams + bigrams)


def plain_text(text: str | None) -> str:
    """Readable plain text of a stored body: no Markdown, no HTML, entities decoded, one line.

    The result is text, not markup: templates escape it like any other string.
    """
    if not text:
        return ""
    # Tags typed by people are removed (with the content of script/style), then the Markdown is
    # rendered to text; the last pass catches tags that were written as entities (&lt;b&gt;).
    stripped = html.unescape(nh3.clean(text, tags=set()))
    rendered = html.unescape(markdown_plain_text(stripped))
    return _SPACE_RE.sub(" ", _TAG_RE.sub(" ", rendered)).strip()


def trim(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters on a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


def quote(text: str | None, limit: int = 240) -> str:
    """A public quote: plain text, contact details masked, at most ``limit`` characters."""
    return trim(mask_personal_data(plain_text(text)), limit)
