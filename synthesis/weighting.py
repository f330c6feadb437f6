"""Weighting questionnaire results to a reference population by audience × académie.

Respondents are not a random sample: some audiences and académies answer far more than others.
Post-stratification gives every respondent of a cell (audience × académie) the weight
population share / sample share of that cell; when some populated cells have no respondent it
cannot, and raking (iterative proportional fitting) matches the audience and académie margins
instead. The unweighted figures always stay beside the weighted ones, with Kish's effective
sample size ``(Σw)² / Σw²`` saying how much precision the weighting costs.

No reference table ships with Consult (no official source is available offline): the analyst
uploads one, validated by ``parse_reference_csv``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.orm import Session

from synthesis.models import ReferencePopulation

AUDIENCES = ("eleve", "parent", "professeur", "encadrement", "agent")
COLUMNS = ("audience", "academie_code", "population")
MAX_BYTES = 1_000_000
MAX_POPULATION = 100_000_000
LABEL_MAX = 200
SOURCE_MAX = 2_000
TOLERANCE = 1e-9
MAX_ITERATIONS = 200


class ReferenceError(ValueError):
    """An uploaded reference population is invalid; the message is French, names the line."""


def _academie_codes() -> set[str]:
    from consult.territories import catalog

    return set(catalog().academies)


def parse_reference_csv(data: bytes) -> pd.DataFrame:
    """Validate an uploaded CSV (``audience;academie_code;population``, or commas) into a
    DataFrame with one row per cell. Any problem raises ReferenceError naming the line."""
    if not data or not data.strip():
        raise ReferenceError(_("Le fichier est vide."))
    if len(data) > MAX_BYTES:
        raise ReferenceError(_("Le fichier est trop volumineux (1 Mo au plus)."))
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReferenceError(
            _("Le fichier doit être encodé en UTF-8 (enregistrez-le en « CSV UTF-8 »).")
        ) from exc
    if "\x00" in content:
        raise ReferenceError(_("Le fichier n'est pas un fichier texte CSV."))
    lines = content.splitlines()
    header = lines[0] if lines else ""
    delimiter = ";" if header.count(";") >= header.count(",") else ","
    reader = csv.reader(io.StringIO(content), delimiter=delimiter)
    rows = list(reader)
    names = [cell.strip().lower() for cell in rows[0]] if rows else []
    if tuple(names) != COLUMNS:
        raise ReferenceError(
            _(
                "Ligne 1 : l'en-tête doit être « audience;academie_code;population » "
                "(séparateur point-virgule ou virgule)."
            )
        )
    academies = _academie_codes()
    seen: dict[tuple[str, str], int] = {}
    records: list[tuple[str, str, int]] = []
    for number, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 3:
            raise ReferenceError(
                _(
                    "Ligne %(line)d : trois colonnes attendues, %(count)d trouvées.",
                    line=number,
                    count=len(row),
                )
            )
        audience, academie, population = (cell.strip() for cell in row)
        if not audience:
            raise ReferenceError(_("Ligne %(line)d : le public manque.", line=number))
        if audience not in AUDIENCES:
            raise ReferenceError(
                _(
                    "Ligne %(line)d : public inconnu « %(value)s » (attendus : %(expected)s).",
                    line=number,
                    value=audience[:40],
                    expected=", ".join(AUDIENCES),
                )
            )
        if not academie:
            raise ReferenceError(_("Ligne %(line)d : le code d'académie manque.", line=number))
        if academie not in academies:
            raise ReferenceError(
                _(
                    "Ligne %(line)d : académie inconnue « %(value)s ».",
                    line=number,
                    value=academie[:40],
                )
            )
        if not population:
            raise ReferenceError(_("Ligne %(line)d : la population manque.", line=number))
        compact = population.replace(" ", "").replace("\u202f", "").replace("\xa0", "")
        if compact.startswith("-") and compact[1:].isdigit():
            raise ReferenceError(
                _("Ligne %(line)d : la population ne peut pas être négative.", line=number)
            )
        if not compact.isdigit() or not compact.isascii():
            raise ReferenceError(
                _(
                    "Ligne %(line)d : la population « %(value)s » n'est pas un nombre entier.",
                    line=number,
                    value=population[:40],
                )
            )
        value = int(compact)
        if value > MAX_POPULATION:
            raise ReferenceError(
                _(
                    "Ligne %(line)d : population invraisemblable (plus de 100 millions).",
                    line=number,
                )
            )
        key = (audience, academie)
        if key in seen:
            raise ReferenceError(
                _(
                    "Ligne %(line)d : la case %(audience)s × %(academie)s figure déjà "
                    "ligne %(first)d.",
                    line=number,
                    audience=audience,
                    academie=academie,
                    first=seen[key],
                )
            )
        seen[key] = number
        records.append((audience, academie, value))
    if not records:
        raise ReferenceError(_("Le fichier ne contient aucune ligne de population."))
    if sum(r[2] for r in records) == 0:
        raise ReferenceError(_("La population totale est nulle."))
    return pd.DataFrame(records, columns=list(COLUMNS)).astype({"population": "int64"})


def save_reference(
    session: Session, df: pd.DataFrame, label: str, source: str, user: Any
) -> ReferencePopulation:
    """Store a validated reference table as the active one (the previous one is deactivated).
    Never commits."""
    label = (label or "").strip()
    source = (source or "").strip()
    if not label:
        raise ReferenceError(_("Donnez un intitulé à la population de référence."))
    if len(label) > LABEL_MAX:
        raise ReferenceError(_("L'intitulé ne doit pas dépasser 200 caractères."))
    if not source:
        raise ReferenceError(_("Citez la source officielle de la population de référence."))
    if len(source) > SOURCE_MAX:
        raise ReferenceError(_("La source ne doit pas dépasser 2 000 caractères."))
    session.execute(
        update(ReferencePopulation).where(ReferencePopulation.active.is_(True)).values(active=False)
    )
    reference = ReferencePopulation(
        label=label,
        source=source,
        uploaded_by_id=getattr(user, "id", None),
        active=True,
        rows=[[str(a), str(c), int(p)] for a, c, p in df[list(COLUMNS)].itertuples(index=False)],
    )
    session.add(reference)
    session.flush()
    return reference


def reference_frame(reference: ReferencePopulation) -> pd.DataFrame:
    return pd.DataFrame(reference.rows or [], columns=list(COLUMNS)).astype({"population": "int64"})


# --- Weights -----------------------------------------------------------------------------------


@dataclass
class Weights:
    """One weight per audience × académie cell (mean respondent weight 1)."""

    method: str  # poststratification, raking
    cell_weights: pd.DataFrame  # audience, academie_code, weight
    empty_cells: list[tuple[str, str]] = field(default_factory=list)
    iterations: int = 0
    converged: bool = True
    effective_n: float | None = None
    respondents: int = 0

    def describe(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "empty_cells": [list(c) for c in self.empty_cells],
            "iterations": self.iterations,
            "converged": self.converged,
            "effective_n": None if self.effective_n is None else round(self.effective_n, 3),
            "respondents": self.respondents,
        }


def _cells(sample: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    s = sample.groupby(["audience", "academie_code"])["n"].sum().rename("n")
    p = population.groupby(["audience", "academie_code"])["population"].sum()
    cells = pd.concat([s, p], axis=1).fillna(0).reset_index()
    return cells.astype({"n": "float64", "population": "float64"})


def kish(n: Any, w: Any) -> float | None:
    """Effective sample size of ``n`` respondents per cell carrying weight ``w``."""
    n = np.asarray(n, dtype="float64")
    w = np.asarray(w, dtype="float64")
    total = float(np.sum(n * w))
    squares = float(np.sum(n * w * w))
    return total * total / squares if squares > 0 else None


def _normalise(cells: pd.DataFrame, weight: np.ndarray) -> np.ndarray:
    covered = float(np.sum(cells["n"].to_numpy() * weight))
    respondents = float(cells.loc[weight > 0, "n"].sum())
    return weight * (respondents / covered) if covered > 0 else weight


def _result(method: str, cells: pd.DataFrame, weight: np.ndarray, **kw: Any) -> Weights:
    cells = cells.assign(weight=weight)
    kept = cells[(cells["n"] > 0) & (cells["weight"] > 0)]
    empty = cells[(cells["n"] == 0) & (cells["population"] > 0)]
    return Weights(
        method=method,
        cell_weights=kept[["audience", "academie_code", "weight"]].reset_index(drop=True),
        empty_cells=sorted(zip(empty["audience"], empty["academie_code"], strict=True)),
        effective_n=kish(kept["n"].to_numpy(), kept["weight"].to_numpy()),
        respondents=int(kept["n"].sum()),
        **kw,
    )


def poststratify(sample: pd.DataFrame, population: pd.DataFrame) -> Weights:
    """sample: audience, academie_code, n (respondents); population: audience, academie_code,
    population. Weight of a cell = (N_c / N) / (n_c / n) over the cells that have both."""
    cells = _cells(sample, population)
    both = (cells["n"] > 0) & (cells["population"] > 0)
    n_total = cells.loc[both, "n"].sum()
    p_total = cells.loc[both, "population"].sum()
    weight = np.zeros(len(cells))
    if n_total > 0 and p_total > 0:
        weight[both.to_numpy()] = (cells.loc[both, "population"] / p_total).to_numpy() / (
            cells.loc[both, "n"] / n_total
        ).to_numpy()
    return _result("poststratification", cells, weight)


def rake(
    sample: pd.DataFrame,
    population: pd.DataFrame,
    *,
    tolerance: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
) -> Weights:
    """Iterative proportional fitting of the cell weights to the audience margins and the
    académie margins of the population. Margins that no respondent can fill (an audience or an
    académie without respondent) are left out, and their cells reported."""
    cells = _cells(sample, population)
    n = cells["n"].to_numpy()
    weight = np.where(n > 0, 1.0, 0.0)
    margins = []
    for column in ("audience", "academie_code"):
        target = cells.groupby(column)["population"].sum()
        reachable = cells[cells["n"] > 0].groupby(column)["n"].sum()
        target = target[target.index.isin(reachable.index) & (target > 0)]
        codes = cells[column].to_numpy()
        margins.append((codes, target))
    # Scale targets to the respondents so weights stay around 1.
    total_n = float(n.sum())
    converged = False
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - reported after the loop
        for codes, target in margins:
            scale = total_n / float(target.sum()) if float(target.sum()) else 0.0
            current = pd.Series(n * weight).groupby(codes).sum()
            for code, wanted in target.items():
                have = current.get(code, 0.0)
                if have > 0:
                    weight[codes == code] *= wanted * scale / have
            # Cells of a margin the population lacks get no weight.
            weight[~np.isin(codes, target.index.to_numpy())] = 0.0
        gaps = []
        for codes, target in margins:
            scale = total_n / float(target.sum()) if float(target.sum()) else 0.0
            current = pd.Series(n * weight).groupby(codes).sum()
            for code, wanted in target.items():
                gaps.append(
                    abs(current.get(code, 0.0) - wanted * scale) / max(wanted * scale, 1e-12)
                )
        if max(gaps, default=0.0) < tolerance:
            converged = True
            break
    weight = _normalise(cells, weight)
    return _result("raking", cells, weight, iterations=iterations, converged=converged)


def weights_for(
    reference: ReferencePopulation, respondents: pd.DataFrame, method: str = "auto"
) -> Weights:
    """respondents: academie_code, audience, n. ``auto`` post-stratifies when every populated
    cell has respondents, and rakes otherwise."""
    population = reference_frame(reference)
    sample = respondents.rename(columns={"n": "n"})[["audience", "academie_code", "n"]]
    sample = sample.dropna(subset=["academie_code"])
    if method == "auto":
        cells = _cells(sample, population)
        empty = ((cells["n"] == 0) & (cells["population"] > 0)).any()
        method = "raking" if empty else "poststratification"
    if method == "raking":
        return rake(sample, population)
    return poststratify(sample, population)
