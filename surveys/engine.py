"""The questionnaire engine: a definition (plain data, loaded from a versioned JSON file), the one
condition evaluator, and the validation that turns raw form values into a stored response.

Everything here is pure (no Flask, no database) so the same rules serve the answering pages, the
demo generator, the exports and the property tests. The browser enhancement receives the very
same condition objects (serialised as JSON) and evaluates them with the same semantics; the
server never trusts it and re-evaluates on every page.

Condition grammar (JSON objects):
  {"question": CODE, "in": [values]}       answered and (one of) the value(s) is in the list
  {"question": CODE, "not_in": [values]}   answered and none of the value(s) is in the list
  {"question": CODE, "gte": n} / "lte"     answered number or scale within the bound
  {"question": CODE, "answered": true}     any answer at all
  {"all": [conditions]} / {"any": [...]} / {"not": condition}
A question whose condition is false is hidden: its answer is dropped, never stored, and a
condition referring to a hidden question sees "no answer".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

QUESTION_TYPES = ("single", "multiple", "scale", "ranking", "text", "longtext", "number")
SHORT_TEXT_MAX = 300
LONG_TEXT_MAX = 3000
CODE_MAX = 40
DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"


class DefinitionError(ValueError):
    """The definition file is inconsistent (raised at load time, never while answering)."""


class AnswerError(ValueError):
    """A raw value does not fit its question; the message is French and shown to the user."""


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Question:
    code: str
    type: str
    text: str
    help: str = ""
    required: bool = True
    options: tuple[Option, ...] = ()
    condition: dict[str, Any] | None = None
    max_choices: int | None = None  # multiple choice
    max_rank: int | None = None  # ranking: how many items are ranked
    min: int | None = None  # number bounds; scale is 1..5
    max: int | None = None
    min_label: str = ""  # scale ends
    max_label: str = ""

    @property
    def option_values(self) -> tuple[str, ...]:
        return tuple(o.value for o in self.options)

    def option_label(self, value: str) -> str:
        for option in self.options:
            if option.value == value:
                return option.label
        return value

    @property
    def is_free_text(self) -> bool:
        return self.type in ("text", "longtext")

    @property
    def scale_points(self) -> tuple[int, ...]:
        return tuple(range(1, 6))


@dataclass(frozen=True)
class Section:
    code: str
    title: str
    intro: str = ""
    audiences: tuple[str, ...] | None = None  # None: common core, every audience
    condition: dict[str, Any] | None = None
    questions: tuple[Question, ...] = ()

    def for_audience(self, audience: str) -> bool:
        return self.audiences is None or audience in self.audiences


@dataclass(frozen=True)
class Definition:
    slug: str
    version: int
    title: str
    intro: str
    opens: date
    closes: date
    sections: tuple[Section, ...]
    audiences: tuple[str, ...]
    _index: dict[str, Question] = field(default_factory=dict, compare=False, repr=False)

    def question(self, code: str) -> Question:
        return self._index[code]

    def has_question(self, code: str) -> bool:
        return code in self._index

    @property
    def questions(self) -> list[Question]:
        return [q for s in self.sections for q in s.questions]

    def sections_for(self, audience: str) -> list[Section]:
        return [s for s in self.sections if s.for_audience(audience)]

    def questions_for(self, audience: str) -> list[Question]:
        return [q for s in self.sections_for(audience) for q in s.questions]

    def section_of(self, code: str) -> Section:
        for section in self.sections:
            if any(q.code == code for q in section.questions):
                return section
        raise KeyError(code)

    def to_data(self) -> dict[str, Any]:
        """Back to the JSON shape of the file (stored in the database, edited by admins)."""
        return {
            "slug": self.slug,
            "version": self.version,
            "title": self.title,
            "intro": self.intro,
            "opens": self.opens.isoformat(),
            "closes": self.closes.isoformat(),
            "audiences": list(self.audiences),
            "sections": [_section_data(s) for s in self.sections],
        }


def _section_data(section: Section) -> dict[str, Any]:
    data: dict[str, Any] = {"code": section.code, "title": section.title}
    if section.intro:
        data["intro"] = section.intro
    if section.audiences is not None:
        data["audiences"] = list(section.audiences)
    if section.condition is not None:
        data["condition"] = section.condition
    data["questions"] = [_question_data(q) for q in section.questions]
    return data


def _question_data(q: Question) -> dict[str, Any]:
    data: dict[str, Any] = {"code": q.code, "type": q.type, "text": q.text}
    if q.help:
        data["help"] = q.help
    if not q.required:
        data["required"] = False
    if q.options:
        data["options"] = [{"value": o.value, "label": o.label} for o in q.options]
    for key in ("condition", "max_choices", "max_rank", "min", "max"):
        if getattr(q, key) is not None:
            data[key] = getattr(q, key)
    for key in ("min_label", "max_label"):
        if getattr(q, key):
            data[key] = getattr(q, key)
    return data


# --- Loading and checking a definition -----------------------------------------------------------


def load_file(path: str | Path) -> Definition:
    with open(path, encoding="utf-8") as handle:
        return parse(json.load(handle))


def default_path() -> Path:
    return DEFINITIONS_DIR / "egn-2020.json"


def _text(data: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise DefinitionError(f"{where} : « {key} » doit être un texte non vide")
    return value


def parse(data: Any) -> Definition:
    """Check a definition thoroughly and build it; any inconsistency raises DefinitionError."""
    if not isinstance(data, dict):
        raise DefinitionError("la définition doit être un objet JSON")
    slug = _text(data, "slug", "questionnaire")
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise DefinitionError("« version » doit être un entier positif")
    try:
        opens = date.fromisoformat(str(data.get("opens")))
        closes = date.fromisoformat(str(data.get("closes")))
    except ValueError as exc:
        raise DefinitionError("« opens » et « closes » doivent être des dates AAAA-MM-JJ") from exc
    if closes <= opens:
        raise DefinitionError("la date de clôture doit suivre la date d'ouverture")
    audiences = data.get("audiences")
    if (
        not isinstance(audiences, list)
        or not audiences
        or not all(isinstance(a, str) for a in audiences)
    ):
        raise DefinitionError("« audiences » doit lister les publics concernés")
    sections_data = data.get("sections")
    if not isinstance(sections_data, list) or not sections_data:
        raise DefinitionError("« sections » doit être une liste non vide")
    index: dict[str, Question] = {}
    seen_sections: set[str] = set()
    sections = []
    for s_data in sections_data:
        if not isinstance(s_data, dict):
            raise DefinitionError("chaque section doit être un objet")
        code = _text(s_data, "code", "section")
        if code in seen_sections:
            raise DefinitionError(f"section {code} : code en double")
        seen_sections.add(code)
        section_audiences = s_data.get("audiences")
        if section_audiences is not None:
            if not isinstance(section_audiences, list) or not set(section_audiences) <= set(
                audiences
            ):
                raise DefinitionError(f"section {code} : publics inconnus")
            section_audiences = tuple(section_audiences)
        condition = s_data.get("condition")
        if condition is not None:
            _check_condition(condition, index, f"section {code}")
        questions = []
        for q_data in s_data.get("questions") or []:
            question = _parse_question(q_data, index)
            index[question.code] = question
            questions.append(question)
        if not questions:
            raise DefinitionError(f"section {code} : aucune question")
        sections.append(
            Section(
                code=code,
                title=_text(s_data, "title", f"section {code}"),
                intro=_text(s_data, "intro", f"section {code}", required=False),
                audiences=section_audiences,
                condition=condition,
                questions=tuple(questions),
            )
        )
    definition = Definition(
        slug=slug,
        version=version,
        title=_text(data, "title", "questionnaire"),
        intro=_text(data, "intro", "questionnaire", required=False),
        opens=opens,
        closes=closes,
        sections=tuple(sections),
        audiences=tuple(audiences),
        _index=index,
    )
    _check_condition_tracks(definition)
    return definition


def _parse_question(data: Any, earlier: dict[str, Question]) -> Question:
    if not isinstance(data, dict):
        raise DefinitionError("chaque question doit être un objet")
    code = _text(data, "code", "question")
    if len(code) > CODE_MAX or not code.replace("_", "").isalnum():
        raise DefinitionError(f"question {code} : code invalide (lettres, chiffres, _)")
    if code in earlier:
        raise DefinitionError(f"question {code} : code en double")
    qtype = data.get("type")
    if qtype not in QUESTION_TYPES:
        raise DefinitionError(f"question {code} : type inconnu {qtype!r}")
    options = []
    for o in data.get("options") or []:
        if not isinstance(o, dict):
            raise DefinitionError(f"question {code} : option invalide")
        value = _text(o, "value", f"question {code}")
        if len(value) > CODE_MAX or not value.replace("_", "").isalnum():
            raise DefinitionError(f"question {code} : valeur d'option invalide {value!r}")
        options.append(Option(value, _text(o, "label", f"question {code}")))
    values = [o.value for o in options]
    if len(set(values)) != len(values):
        raise DefinitionError(f"question {code} : valeurs d'options en double")
    needs_options = qtype in ("single", "multiple", "ranking")
    if needs_options and len(options) < 2:
        raise DefinitionError(f"question {code} : au moins deux options")
    if not needs_options and options:
        raise DefinitionError(f"question {code} : pas d'options pour ce type")
    max_choices = data.get("max_choices")
    if max_choices is not None and (
        qtype != "multiple" or not isinstance(max_choices, int) or not max_choices >= 1
    ):
        raise DefinitionError(f"question {code} : max_choices invalide")
    max_rank = data.get("max_rank")
    if qtype == "ranking":
        max_rank = max_rank or len(options)
        if not isinstance(max_rank, int) or not 1 <= max_rank <= len(options):
            raise DefinitionError(f"question {code} : max_rank invalide")
    elif max_rank is not None:
        raise DefinitionError(f"question {code} : max_rank réservé au classement")
    low, high = data.get("min"), data.get("max")
    if qtype == "number":
        if not isinstance(low, int) or not isinstance(high, int) or low >= high:
            raise DefinitionError(f"question {code} : bornes min/max entières requises")
    elif low is not None or high is not None:
        raise DefinitionError(f"question {code} : bornes réservées aux nombres")
    if qtype == "scale" and not (data.get("min_label") and data.get("max_label")):
        raise DefinitionError(f"question {code} : l'échelle doit nommer ses extrémités")
    condition = data.get("condition")
    if condition is not None:
        _check_condition(condition, earlier, f"question {code}")
    required = data.get("required", True)
    if not isinstance(required, bool):
        raise DefinitionError(f"question {code} : « required » doit valoir true ou false")
    return Question(
        code=code,
        type=qtype,
        text=_text(data, "text", f"question {code}"),
        help=_text(data, "help", f"question {code}", required=False),
        required=required,
        options=tuple(options),
        condition=condition,
        max_choices=max_choices,
        max_rank=max_rank,
        min=low,
        max=high,
        min_label=str(data.get("min_label") or ""),
        max_label=str(data.get("max_label") or ""),
    )


def _check_condition(cond: Any, earlier: Mapping[str, Question], where: str) -> None:
    """Conditions may only look at *earlier* questions, with values they can actually take."""
    if not isinstance(cond, dict) or not cond:
        raise DefinitionError(f"{where} : condition invalide")
    if "all" in cond or "any" in cond:
        key = "all" if "all" in cond else "any"
        parts = cond[key]
        if len(cond) != 1 or not isinstance(parts, list) or not parts:
            raise DefinitionError(f"{where} : « {key} » attend une liste de conditions")
        for part in parts:
            _check_condition(part, earlier, where)
        return
    if "not" in cond:
        if len(cond) != 1:
            raise DefinitionError(f"{where} : « not » attend une seule condition")
        _check_condition(cond["not"], earlier, where)
        return
    code = cond.get("question")
    if code not in earlier:
        raise DefinitionError(f"{where} : la condition vise {code!r}, absente ou plus loin")
    target = earlier[code]
    ops = set(cond) - {"question"}
    if len(ops) != 1 or not ops <= {"in", "not_in", "gte", "lte", "answered"}:
        raise DefinitionError(f"{where} : opérateur de condition invalide {sorted(ops)}")
    (op,) = ops
    operand = cond[op]
    if op in ("in", "not_in"):
        if not isinstance(operand, list) or not operand:
            raise DefinitionError(f"{where} : « {op} » attend une liste de valeurs")
        if target.options and not set(operand) <= set(target.option_values):
            raise DefinitionError(f"{where} : valeurs inconnues pour {code}")
    elif op in ("gte", "lte"):
        if target.type not in ("number", "scale") or not isinstance(operand, int):
            raise DefinitionError(f"{where} : « {op} » réservé aux nombres et échelles")
    elif operand is not True:
        raise DefinitionError(f"{where} : « answered » doit valoir true")


def condition_codes(cond: Mapping[str, Any]) -> Iterable[str]:
    if "all" in cond or "any" in cond:
        for part in cond.get("all") or cond.get("any"):
            yield from condition_codes(part)
    elif "not" in cond:
        yield from condition_codes(cond["not"])
    else:
        yield cond["question"]


def _check_condition_tracks(definition: Definition) -> None:
    """A condition in a track may not depend on another track's questions (never answered)."""
    for section in definition.sections:
        conds = [section.condition] + [q.condition for q in section.questions]
        for cond in filter(None, conds):
            for code in condition_codes(cond):
                origin = definition.section_of(code)
                if origin.audiences is not None and (
                    section.audiences is None or not set(section.audiences) <= set(origin.audiences)
                ):
                    raise DefinitionError(
                        f"section {section.code} : la condition vise {code}, "
                        "d'un parcours que tous ses publics ne suivent pas"
                    )


# --- The one evaluator ---------------------------------------------------------------------------


def evaluate(cond: Mapping[str, Any] | None, answers: Mapping[str, Any]) -> bool:
    if cond is None:
        return True
    if "all" in cond:
        return all(evaluate(c, answers) for c in cond["all"])
    if "any" in cond:
        return any(evaluate(c, answers) for c in cond["any"])
    if "not" in cond:
        return not evaluate(cond["not"], answers)
    value = answers.get(cond["question"])
    if value is None or value == [] or value == "":
        return False
    if "answered" in cond:
        return True
    if "in" in cond or "not_in" in cond:
        chosen = {str(v) for v in value} if isinstance(value, list) else {str(value)}
        wanted = {str(v) for v in cond.get("in") or cond.get("not_in")}
        return bool(chosen & wanted) if "in" in cond else not (chosen & wanted)
    if "gte" in cond:
        return isinstance(value, int) and value >= cond["gte"]
    return isinstance(value, int) and value <= cond["lte"]


def visible_sections(definition: Definition, audience: str, answers: Mapping[str, Any]):
    """The pages this audience sees, given what was answered so far."""
    return [s for s in definition.sections_for(audience) if evaluate(s.condition, answers)]


def prune(definition: Definition, audience: str, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Keep only the answers of questions that are visible, evaluated in order on the pruned
    answers themselves (hiding a question hides what depends on it, transitively)."""
    kept: dict[str, Any] = {}
    for section in definition.sections_for(audience):
        if not evaluate(section.condition, kept):
            continue
        for question in section.questions:
            if question.code in answers and evaluate(question.condition, kept):
                kept[question.code] = answers[question.code]
    return kept


def visible_questions(definition: Definition, audience: str, answers: Mapping[str, Any]):
    pruned = prune(definition, audience, answers)
    out = []
    for section in definition.sections_for(audience):
        if not evaluate(section.condition, pruned):
            continue
        out.extend(q for q in section.questions if evaluate(q.condition, pruned))
    return out


# --- Validation of one answer --------------------------------------------------------------------


def clean_answer(question: Question, raw: list[str]) -> Any:
    """Raw form values (as from request.form.getlist) → stored value, or None if unanswered.

    Raises AnswerError (French) when the value cannot be an answer to this question.
    """
    raw = [r.strip() if isinstance(r, str) else r for r in raw]
    raw = [r for r in raw if r not in ("", None)]
    if not raw:
        return None
    if not all(isinstance(r, str) for r in raw):
        raise AnswerError("Réponse invalide.")
    match question.type:
        case "single":
            if len(raw) != 1 or raw[0] not in question.option_values:
                raise AnswerError("Choisissez une des réponses proposées.")
            return raw[0]
        case "multiple":
            if len(set(raw)) != len(raw) or not set(raw) <= set(question.option_values):
                raise AnswerError("Choisissez parmi les réponses proposées.")
            if question.max_choices and len(raw) > question.max_choices:
                raise AnswerError(f"Choisissez au plus {question.max_choices} réponses.")
            order = question.option_values
            return sorted(raw, key=order.index)
        case "scale":
            if len(raw) != 1 or raw[0] not in {"1", "2", "3", "4", "5"}:
                raise AnswerError("Choisissez une valeur de 1 à 5.")
            return int(raw[0])
        case "number":
            if len(raw) != 1:
                raise AnswerError("Indiquez un seul nombre.")
            text = raw[0].replace("\u202f", "").replace(" ", "")
            # isascii: "²".isdigit() is true, yet int("²") fails.
            if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 12:
                raise AnswerError("Indiquez un nombre entier.")
            number = int(text)
            assert question.min is not None and question.max is not None
            if not question.min <= number <= question.max:
                raise AnswerError(f"Indiquez un nombre entre {question.min} et {question.max}.")
            return number
        case "ranking":
            # Ranks come in order (rank 1 first); an empty rank ends the ranking.
            if len(raw) > (question.max_rank or 0):
                raise AnswerError(f"Classez au plus {question.max_rank} éléments.")
            if len(set(raw)) != len(raw):
                raise AnswerError("Chaque élément ne peut être classé qu'une fois.")
            if not set(raw) <= set(question.option_values):
                raise AnswerError("Classez les éléments proposés.")
            return raw
        case _:
            if len(raw) != 1:
                raise AnswerError("Réponse invalide.")
            limit = SHORT_TEXT_MAX if question.type == "text" else LONG_TEXT_MAX
            text = raw[0].replace("\x00", "")
            if len(text) > limit:
                raise AnswerError(f"Votre réponse dépasse {limit} caractères.")
            return text


def check_stored(definition: Definition, audience: str, answers: Mapping[str, Any]) -> None:
    """Assert-style check used by tests and the demo: a stored answer set satisfies the
    definition (only visible questions, every value valid, every required one present)."""
    if prune(definition, audience, answers) != dict(answers):
        raise AnswerError("réponses à des questions masquées")
    for question in visible_questions(definition, audience, answers):
        value = answers.get(question.code)
        if value is None:
            if question.required:
                raise AnswerError(f"{question.code} manquante")
            continue
        raw = value if isinstance(value, list) else [str(value)]
        if clean_answer(question, raw) != value:
            raise AnswerError(f"{question.code} invalide")


def validate_all(
    definition: Definition, audience: str, answers: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Prune hidden answers and list missing required ones: (kept answers, {code: message})."""
    kept = prune(definition, audience, answers)
    errors = {}
    for question in visible_questions(definition, audience, kept):
        if question.required and kept.get(question.code) in (None, "", []):
            errors[question.code] = "Cette question est obligatoire."
    return kept, errors


def export_columns(definition: Definition) -> list[tuple[str, Question, str | int | None]]:
    """One column per question; multiple choice: one per option; ranking: one per rank."""
    columns: list[tuple[str, Question, str | int | None]] = []
    for q in definition.questions:
        if q.type == "multiple":
            columns.extend((f"{q.code}_{o.value}", q, o.value) for o in q.options)
        elif q.type == "ranking":
            columns.extend((f"{q.code}_rang{i}", q, i) for i in range(1, (q.max_rank or 0) + 1))
        else:
            columns.append((q.code, q, None))
    return columns


def condition_text(cond: Mapping[str, Any] | None) -> str:
    """A condition in words, for the codebook."""
    if cond is None:
        return ""
    if "all" in cond:
        return " ET ".join(f"({condition_text(c)})" for c in cond["all"])
    if "any" in cond:
        return " OU ".join(f"({condition_text(c)})" for c in cond["any"])
    if "not" in cond:
        return f"NON ({condition_text(cond['not'])})"
    code = cond["question"]
    if "in" in cond:
        return f"{code} ∈ {{{', '.join(map(str, cond['in']))}}}"
    if "not_in" in cond:
        return f"{code} ∉ {{{', '.join(map(str, cond['not_in']))}}}"
    if "gte" in cond:
        return f"{code} ≥ {cond['gte']}"
    if "lte" in cond:
        return f"{code} ≤ {cond['lte']}"
    return f"{code} répondue"
