"""Keywords and topics of French free text: TF-IDF on lemmas, NMF, noun phrases as labels.

Each topic has a readable ``label`` (its most frequent noun phrase made of its keywords, such
as « Formation des enseignants », or else its first two keywords joined: « Tablettes et wifi »)
shown with its ``keywords`` beside it.

The engine calls :func:`extract` once per scope and corpus (contributions, comments, ideas, open
answers), so it is bounded (``max_docs`` documents at most, chosen by a hash of their id, not at
random) and deterministic: the same texts give the same topics, whatever their order.

Quotes come only from ``public`` documents (published, not hidden) and are plain text with
emails and phone numbers masked; the engine decides which corpora may show them in public.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import threadpool_limits

from synthesis import french

# The `topics` table of synthesis/README.md, without `corpus` (the engine adds it).
# Bump when a change here changes the topics of the same texts: the engine reuses the previous
# compilation's topics of a scope whose sample did not change (``engine.compile_topics``).
VERSION = 1
QUOTES = 3
COLUMNS = [
    "topic",
    "label",
    "size",
    "keywords",
    *[f"quote_{i}{suffix}" for i in range(1, QUOTES + 1) for suffix in ("", "_ref")],
    "people",
]
KEYWORD_COLUMNS = ["term", "score", "documents"]

MIN_DOCUMENTS = 20  # below this, « topics » would be single contributions
MIN_TOPICS, MAX_TOPICS = 3, 8
MAX_DOCS = 5000  # per call: about 0.5 s; topics of 5,000 texts are stable
KEYWORDS_PER_TOPIC = 8
QUOTE_LENGTH = 240
# A corpus keyword must appear in at least this many documents, so a rare word (a name, a
# school) never becomes a published keyword of a small territory.
KEYWORD_MIN_DOCUMENTS = 10
# Topics are read as words and quotes, not as a loss value: 200 iterations at a tolerance of
# 1e-3 (scikit-learn: 1e-4) change no top term on the corpora tried and cut the time by 3.
NMF_MAX_ITER = 200
NMF_TOL = 1e-3
# NNDSVD with its zeros filled by the mean: plain "nndsvd" leaves them at zero for good, so
# with more topics asked than the texts have themes, its first, all-covering component keeps
# every document (two kinds of texts, four topics asked: one topic of both).
NMF_INIT = "nndsvda"
PHRASE_SHARE = 0.6  # two keywords found together this often are one phrase (see _labels)
# A noun phrase names a topic when this many of its texts (and this share of them) say it: a
# phrase written by one or two people (a school's name) is no title.
TITLE_MIN_DOCUMENTS = 3
TITLE_MIN_SHARE = 0.1


INTEGER_COLUMNS = frozenset({"topic", "size", "people"})


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    # Text columns stay object with None for a missing quote: a NaN would be truthy in a
    # template and print as "nan".
    return pd.DataFrame(
        {
            column: pd.Series(
                [row[column] for row in rows],
                dtype="int64" if column in INTEGER_COLUMNS else object,
            )
            for column in COLUMNS
        }
    )


def empty_topics() -> pd.DataFrame:
    return _frame([])


def empty_keywords() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "term": pd.Series(dtype=object),
            "score": pd.Series(dtype="float64"),
            "documents": pd.Series(dtype="int64"),
        }
    )


def default_topic_count(documents: int) -> int:
    """3 topics for a few dozen documents, one more each time the corpus doubles, up to 8."""
    if documents <= MIN_DOCUMENTS:
        return MIN_TOPICS
    return max(MIN_TOPICS, min(MAX_TOPICS, 2 + round(math.log2(documents / MIN_DOCUMENTS))))


def _min_df(documents: int) -> int:
    # A term must be shared to define a topic: 3 documents in a small corpus, 0.2 % of a large
    # one (which also keeps the vocabulary, hence the NMF, small at 5,000 documents).
    return max(3, documents // 500)


def _max_df(documents: int) -> float:
    # A word in most documents of a corpus (« élève » in an education consultation) tells
    # topics apart no better than a stop word. Small corpora keep more room: one subject
    # may be most of them.
    return 0.6 if documents >= 200 else 0.7


def _prepare(texts: pd.DataFrame, max_docs: int | None) -> pd.DataFrame:
    """Non-empty documents, at most ``max_docs`` of them, in an order that does not depend on
    the order of the input rows."""
    missing = {"id", "ref", "text"} - set(texts.columns)
    if missing:
        raise ValueError(f"texts lacks columns: {sorted(missing)}")
    kept = [c for c in ("id", "ref", "text", "public", "person") if c in texts.columns]
    frame = texts.loc[:, kept]
    frame = frame.assign(
        text=frame["text"].astype(object).where(frame["text"].notna(), ""),
        public=(
            frame["public"].astype(object).where(frame["public"].notna(), False).astype(bool)
            if "public" in frame.columns
            else False
        ),
    )
    # .loc with a boolean Series: an empty object Series would select columns with [].
    readable = frame["text"].map(lambda t: isinstance(t, str) and bool(t.strip())).astype(bool)
    frame = frame.loc[readable]
    refs = frame["ref"].astype(str)
    # pandas' hash has a fixed key: the same id gives the same key in every process.
    keys = pd.util.hash_pandas_object(frame["id"].astype(str), index=False).to_numpy()
    frame = frame.assign(_key=keys, _ref=refs)
    frame = frame.sort_values(["_key", "_ref"], kind="mergesort")
    limit = MAX_DOCS if max_docs is None else max(0, int(max_docs))
    return frame.head(limit).reset_index(drop=True)


def _identity(features: Sequence[str]) -> Sequence[str]:
    return features


def _vectorise(
    analyses: Sequence[tuple[tuple[str, str], ...]], *, min_df: int, max_df: float
) -> tuple[TfidfVectorizer, object] | None:
    """TF-IDF of the documents' lemmas (bigrams are labels only, see :func:`_labels`)."""
    vectoriser = TfidfVectorizer(
        analyzer=_identity,
        min_df=min_df,
        max_df=max_df,
        sublinear_tf=True,
        dtype=np.float32,
    )
    unigrams = [[f for f, _ in analysis if " " not in f] for analysis in analyses]
    try:
        matrix = vectoriser.fit_transform(unigrams)
    except ValueError:
        # "After pruning, no terms remain" / "max_df corresponds to < documents than min_df".
        return None
    return vectoriser, matrix


def _top_terms(weights: np.ndarray, features: np.ndarray, top: int) -> list[str]:
    """The ``top`` heaviest features with a positive weight (ties: alphabetical)."""
    order = np.lexsort((features, -weights))
    return [str(features[i]) for i in order[:top] if weights[i] > 0]


def _labels(
    analyses: Iterable[tuple[tuple[str, str], ...]],
    terms: list[str],
    top: int,
    *,
    min_documents: int = 1,
) -> list[tuple[str, str, int]]:
    """Readable keywords for ``terms`` (lemmas, heaviest first) over these documents.

    Each lemma is shown in its most frequent written form (« tablettes », not « tablette »
    if people mostly wrote the plural). Two listed words that are mostly written together
    become one keyword: when « réseau social » is found in at least ``PHRASE_SHARE`` of the
    documents of « réseau » and of those of « social », the list says « réseaux sociaux » once
    instead of « réseaux » and « sociaux » (if it is found in ``min_documents`` at least).

    Returns (label, feature, documents containing the feature) triples.
    """
    listed = set(terms)
    documents: Counter[str] = Counter()
    surfaces: dict[str, Counter[str]] = {}
    for analysis in analyses:
        present = set()
        for feature, surface in analysis:
            if " " in feature:
                first, second = feature.split(" ", 1)
                if first not in listed or second not in listed:
                    continue
            elif feature not in listed:
                continue
            present.add(feature)
            counter = surfaces.get(feature)
            if counter is None:
                counter = surfaces[feature] = Counter()
            counter[surface] += 1
        documents.update(present)

    def surface(feature: str) -> str:
        counter = surfaces.get(feature)
        if not counter:
            return feature
        return min(counter.items(), key=lambda item: (-item[1], item[0]))[0]

    phrases: dict[str, list[tuple[int, str, str]]] = {}
    for feature, count in documents.items():
        if " " not in feature:
            continue
        first, second = feature.split(" ", 1)
        if first == second or count < max(
            min_documents, PHRASE_SHARE * max(documents[first], documents[second])
        ):
            continue
        for word, partner in ((first, second), (second, first)):
            phrases.setdefault(word, []).append((count, feature, partner))

    labels: list[tuple[str, str, int]] = []
    used: set[str] = set()
    for term in terms:
        if term in used or not documents[term]:
            # A term none of these documents contains is the factorisation's smoothing, not
            # what they say (small topics of a few fixed sentences end with such terms).
            continue
        used.add(term)
        candidates = [
            (-count, feature, partner)
            for count, feature, partner in phrases.get(term, [])
            if partner not in used
        ]
        if candidates:
            _, feature, partner = min(candidates)
            used.add(partner)
            labels.append((surface(feature), feature, documents[feature]))
        else:
            labels.append((surface(term), term, documents[term]))
        if len(labels) == top:
            break
    return labels


def _title(
    analyses: Sequence[tuple[tuple[str, str], ...]], labels: list[tuple[str, str, int]]
) -> str:
    """A topic's readable name from its keywords (``labels``, heaviest first, as given by
    :func:`_labels`) and its documents' ``analyses``.

    Its most representative phrase: the noun phrase of two of its keywords' words that the
    most of its texts contain, preferring phrases with the heaviest keywords (« Formation des
    enseignants »). Without one said often enough, a title of its first two keywords
    (« Tablettes et wifi »). Empty without keywords.
    """
    if not labels:
        return ""
    rank: dict[str, int] = {}
    for position, (_, feature, _) in enumerate(labels):
        for word in feature.split(" "):
            rank.setdefault(word, position)
    documents: Counter[str] = Counter()
    surfaces: dict[str, Counter[str]] = {}
    for analysis in analyses:
        present = set()
        for feature, surface in analysis:
            first, _, second = feature.partition(" ")
            if second and first in rank and second in rank:
                present.add(feature)
                surfaces.setdefault(feature, Counter())[surface] += 1
        documents.update(present)
    needed = max(TITLE_MIN_DOCUMENTS, TITLE_MIN_SHARE * len(analyses))
    phrases = [
        (min(rank[w] for w in feature.split(" ")), -count, feature)
        for feature, count in documents.items()
        if count >= needed
    ]
    if phrases:
        feature = min(phrases)[2]
        # Its most frequent written form (ties: alphabetical, for a stable title).
        title = min(surfaces[feature].items(), key=lambda item: (-item[1], item[0]))[0]
    else:
        names = [label for label, _, _ in labels[:2]]
        title = " et ".join(names)
    return title[:1].upper() + title[1:]


def _distinct_rows(matrix) -> int:
    rows = {
        (matrix.indices[start:end].tobytes(), matrix.data[start:end].tobytes())
        for start, end in zip(matrix.indptr[:-1], matrix.indptr[1:], strict=True)
    }
    return len(rows)


def _factorise(matrix, k: int, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Document-topic weights and topic-term components, with ``k`` topics or, when the texts
    are too alike for that many (linearly dependent rows), the most below it that works."""
    while k >= 1:
        model = NMF(
            n_components=k, init=NMF_INIT, random_state=seed, max_iter=NMF_MAX_ITER, tol=NMF_TOL
        )
        with warnings.catch_warnings():
            # A bounded number of iterations is the point; an unconverged factorisation of text
            # is still a usable one.
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("error", RuntimeWarning)
            try:
                weights = model.fit_transform(matrix)
            except RuntimeWarning:
                weights = None
        if weights is not None and np.isfinite(weights).all():
            return weights, model.components_
        k -= 1
    return None


def extract(
    texts: pd.DataFrame,
    n_topics: int | None = None,
    *,
    max_docs: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Topics of a corpus: one row per topic (see ``COLUMNS``), largest first.

    ``texts`` has columns ``id``, ``ref``, ``text``, ``public`` and, optionally, ``person``
    (who wrote it: then ``people`` counts distinct persons, so a topic of twelve comments by
    three people is suppressed in public like any figure of fewer than 10 people; without it
    ``people`` is ``size``). ``max_docs`` (default ``MAX_DOCS``) bounds the work; a corpus of
    fewer than ``MIN_DOCUMENTS`` usable documents has no topics (an empty frame).
    """
    docs = _prepare(texts, max_docs)
    analyses = [french.analyse(text) for text in docs["text"]]
    usable = [bool(a) for a in analyses]
    documents = sum(usable)
    if documents < MIN_DOCUMENTS:
        return empty_topics()
    docs = docs[usable].reset_index(drop=True)
    analyses = [a for a, keep in zip(analyses, usable, strict=True) if keep]

    fitted = _vectorise(analyses, min_df=_min_df(documents), max_df=_max_df(documents))
    if fitted is None:
        return empty_topics()
    vectoriser, matrix = fitted
    features = vectoriser.get_feature_names_out()
    k = n_topics if n_topics is not None else default_topic_count(documents)
    # No more topics than distinct documents: the factorisation of a rank-r matrix into more
    # than r parts is undefined (NNDSVD takes square roots of null singular values).
    k = min(max(1, int(k)), _distinct_rows(matrix), matrix.shape[1])
    if matrix.nnz == 0:
        return empty_topics()
    # These matrices are small: BLAS threads cost more to start than they save (measured:
    # twice as fast on one thread), and the compile runs beside a live site.
    with threadpool_limits(limits=1):
        factorised = _factorise(matrix, k, seed)
    if factorised is None:
        return empty_topics()
    weights, components = factorised
    k = components.shape[0]

    totals = weights.sum(axis=1)
    assigned = totals > 0
    dominant = np.where(assigned, weights.argmax(axis=1), -1)
    shares = np.divide(
        weights, totals[:, None], out=np.zeros_like(weights), where=assigned[:, None]
    )

    sizes = np.bincount(dominant[assigned], minlength=k)
    topics = [t for t in sorted(range(k), key=lambda t: (-sizes[t], t)) if sizes[t] > 0]
    candidates = 2 * KEYWORDS_PER_TOPIC  # room for pairs merged into one phrase
    labels = {
        t: _labels(
            (analyses[i] for i in np.flatnonzero(dominant == t)),
            _top_terms(components[t], features, candidates),
            KEYWORDS_PER_TOPIC,
        )
        for t in topics
    }
    public = docs["public"].to_numpy(dtype=bool)
    persons = docs["person"] if "person" in docs.columns else None
    refs = docs["_ref"].to_numpy()
    rows = []
    for number, t in enumerate(topics, start=1):
        row: dict[str, object] = {
            "topic": number,
            "label": _title([analyses[i] for i in np.flatnonzero(dominant == t)], labels[t]),
            "size": int(sizes[t]),
            "keywords": ", ".join(label for label, _, _ in labels[t]),
            "people": (
                int(sizes[t])
                if persons is None
                else int(persons[dominant == t].nunique(dropna=True))
            ),
        }
        quotable = np.flatnonzero((dominant == t) & public)
        # Most representative first: the largest share of the document in this topic, then
        # the largest weight, then the reference for a stable order.
        order = sorted(quotable, key=lambda i: (-shares[i, t], -weights[i, t], refs[i]))
        quotes: list[tuple[str, str]] = []
        seen: set[str] = set()
        for index in order:
            text = french.quote(docs.at[index, "text"], QUOTE_LENGTH)
            if not text or text.casefold() in seen:
                continue
            seen.add(text.casefold())
            quotes.append((text, str(refs[index])))
            if len(quotes) == QUOTES:
                break
        for i in range(1, QUOTES + 1):
            text, ref = quotes[i - 1] if i <= len(quotes) else (None, None)
            row[f"quote_{i}"] = text
            row[f"quote_{i}_ref"] = ref
        rows.append(row)
    return _frame(rows)


def keywords(texts: pd.DataFrame, top: int = 20, *, max_docs: int | None = None) -> pd.DataFrame:
    """The corpus's keywords: ``term`` (readable form), ``score`` (mean TF-IDF weight over the
    documents, 4 decimals) and ``documents`` (how many contain it), highest score first.

    Only terms found in at least ``KEYWORD_MIN_DOCUMENTS`` documents are listed.
    """
    docs = _prepare(texts, max_docs)
    analyses = [a for a in (french.analyse(text) for text in docs["text"]) if a]
    if len(analyses) < KEYWORD_MIN_DOCUMENTS:
        return empty_keywords()
    # No max_df here: a word most people use is precisely a keyword of the corpus.
    fitted = _vectorise(analyses, min_df=KEYWORD_MIN_DOCUMENTS, max_df=1.0)
    if fitted is None:
        return empty_keywords()
    vectoriser, matrix = fitted
    features = vectoriser.get_feature_names_out()
    scores = np.asarray(matrix.sum(axis=0)).ravel() / matrix.shape[0]
    index = {term: i for i, term in enumerate(features)}
    chosen = _labels(
        analyses,
        _top_terms(scores, features, 2 * top),
        top,
        min_documents=KEYWORD_MIN_DOCUMENTS,
    )
    # A phrase is scored by its heavier word, the one it replaced in the list.
    rows = [
        (label, max(scores[index[word]] for word in feature.split(" ")), count)
        for label, feature, count in chosen
    ]
    rows.sort(key=lambda row: (-row[1], row[0]))
    return pd.DataFrame(
        {
            "term": pd.Series([label for label, _, _ in rows], dtype=object),
            "score": pd.Series([round(float(score), 4) for _, score, _ in rows], dtype="float64"),
            "documents": pd.Series([count for _, _, count in rows], dtype="int64"),
        }
    )
