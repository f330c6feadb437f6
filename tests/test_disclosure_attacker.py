"""The disclosure attacker: everything public about a compilation, every additive relation that
holds between the figures, solved; no hidden figure about people may come out exact.

Each hostile dataset is a list of acts (person, académie, audience, kind, theme, subtheme, day).
The tables of every scope are built from it here, independently of the engine (so the test does
not share the engine's or the control's idea of which relations exist), stored as a compilation
(``store.save_many``) and read back the way every public reader reads them
(``store.load(public=True)``: pages, API, exports, territory pages and home counters).

The attacker does not write relations one by one: it writes every published figure as the sum of
the finest cells it is made of (acts per académie × audience × kind × theme × subtheme × day;
people per académie × audience for one kind, theme, subtheme and day, since the datasets' people
never move), which implies every additive relation across tables, scopes and the territory
hierarchy at once. It knows the published ptable: an exact figure is exact; a perturbed one is
its true value within ``privacy.D`` either way, and 10 or more; a printed 0 is 0; a hidden row has
fewer than 10 people (0 included: breakdowns are completed with zeros); a missing total row is 0;
people ≤ acts. For every hidden
figure it solves min and max (HiGHS) and recovers it when a single integer other than 0 fits.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from itertools import product

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

from consult.territories import catalog as territories
from synthesis import catalog, privacy, store

TOULOUSE, MONTPELLIER, POITIERS, BORDEAUX = "16", "11", "13", "04"
AUDIENCES = privacy._audiences()
KINDS = {
    "contribution": ("contributions",),
    "comment": ("comments",),
    "adopt": ("adopt", "votes"),
    "refuse": ("refuse", "votes"),
}
BASE = {"contributions": ("contribution",), "comments": ("comment",), "adopt": ("adopt",),
        "refuse": ("refuse",), "votes": ("adopt", "refuse")}  # fmt: skip
TABLES = ("participation", "participation_territory", "participation_daily", "forum_themes")


@dataclass(frozen=True)
class Act:
    person: str
    academie: str
    audience: str
    kind: str
    theme: str = "t1"
    subtheme: str = "s1"
    day: str = "2020-11-03"


def people(prefix, n, academie, audience, kinds=("adopt",), theme="t1", day="2020-11-03"):
    return [
        Act(f"{prefix}{i}", academie, audience, kind, theme, "s1", day)
        for i in range(n)
        for kind in kinds
    ]


# --- The hostile datasets ----------------------------------------------------------------------


def one_person_territory():
    # Poitiers has one participant: every figure of its synthesis is about one pupil.
    return (
        people("tp", 14, TOULOUSE, "professeur", ("adopt", "comment"))
        + people("tpa", 12, TOULOUSE, "parent", ("refuse",))
        + people("mp", 13, MONTPELLIER, "professeur", ("adopt",))
        + [
            Act("alone", POITIERS, "eleve", "contribution"),
            Act("alone", POITIERS, "eleve", "adopt"),
        ]
    )


def ten_beside_ones():
    # A cell of 10 beside cells of 1.
    return (
        people("p", 10, TOULOUSE, "professeur", ("adopt",))
        + people("e", 1, TOULOUSE, "eleve", ("adopt",))
        + people("a", 1, TOULOUSE, "agent", ("refuse",))
        + people("pa", 1, TOULOUSE, "parent", ("adopt",))
        + people("m", 11, MONTPELLIER, "parent", ("adopt", "comment"))
    )


def region_of_two():
    # Occitanie = Toulouse (15) + Montpellier (2): the région minus Toulouse is Montpellier.
    return (
        people("t", 15, TOULOUSE, "professeur", ("adopt", "contribution"))
        + people("m", 2, MONTPELLIER, "professeur", ("adopt",))
        + people("p", 12, POITIERS, "parent", ("refuse",))
    )


def three_hidden_audiences():
    # Three audiences of one person each sharing a total of 3 beside a shown one.
    return (
        people("e", 1, TOULOUSE, "eleve", ("adopt",))
        + people("pa", 1, TOULOUSE, "parent", ("adopt",))
        + people("a", 1, TOULOUSE, "agent", ("adopt",))
        + people("p", 20, TOULOUSE, "professeur", ("adopt", "comment"))
    )


def one_small_audience():
    # Nationally only the pupils are few: the total minus the others would give them.
    return (
        people("t", 30, TOULOUSE, "professeur", ("adopt", "comment"), theme="t1")
        + people("p", 25, POITIERS, "parent", ("adopt",), theme="t2")
        + people("e", 3, MONTPELLIER, "eleve", ("adopt",), theme="t1")
    )


def complementary_nationally():
    # Pupils: 12 in Toulouse, 3 in Montpellier, 11 in Poitiers; parents only in Poitiers (4); the
    # day and theme splits crossed with the académie split (what defeated the WIP suppression).
    return (
        people("te", 12, TOULOUSE, "eleve", ("adopt",), day="2020-11-03")
        + people("me", 3, MONTPELLIER, "eleve", ("adopt",), day="2020-11-04")
        + people("pe", 11, POITIERS, "eleve", ("adopt",), theme="t2", day="2020-11-04")
        + people("pp", 4, POITIERS, "parent", ("refuse",), theme="t2", day="2020-11-05")
        + people("bp", 20, BORDEAUX, "professeur", ("adopt", "contribution"))
    )


DATASETS = {
    "one_person_territory": one_person_territory,
    "ten_beside_ones": ten_beside_ones,
    "region_of_two": region_of_two,
    "three_hidden_audiences": three_hidden_audiences,
    "one_small_audience": one_small_audience,
    "complementary_nationally": complementary_nationally,
}


# --- Tables of every scope, built from the acts -------------------------------------------------


def _rows(acts, keyfn):
    """{key: (value, people)}, "*" rows for the audience; participants per key too."""
    values: dict[tuple, int] = defaultdict(int)
    persons: dict[tuple, set] = defaultdict(set)
    for act in acts:
        for x in ("*", act.audience):
            for label in (*KINDS[act.kind], "participants"):
                for key in keyfn(act, x, label):
                    values[key] += 0 if label == "participants" else 1
                    persons[key].add(act.person)
    return {k: (len(persons[k]) if k[-1] == "participants" else values[k], len(persons[k]))
            for k in values}  # fmt: skip


def scope_tables(acts, scope):
    mine = [a for a in acts if a.academie in scope.academie_codes]
    part = _rows(mine, lambda a, x, label: [(x, label)])
    daily = _rows(mine, lambda a, x, label: [(a.day, x, label)])
    themes = _rows(
        mine,
        lambda a, x, label: (
            []
            if label == "participants"
            else [(a.theme, "*", x, label), (a.theme, a.subtheme, x, label)]
        ),
    )
    territory = []
    for code in scope.academie_codes:
        for (x, label), (v, p) in _rows(
            [a for a in mine if a.academie == code], lambda a, x, label: [(x, label)]
        ).items():
            territory.append((code, x, label, v, p))

    def frame(name, rows):
        df = pd.DataFrame(rows, columns=catalog.spec(name).column_names)
        return df.astype({"value": "int64", "people": "int64"})

    return {
        "participation": frame("participation", [(*k, *v) for k, v in part.items()]),
        "participation_territory": frame("participation_territory", territory),
        "participation_daily": frame("participation_daily", [(*k, *v) for k, v in daily.items()]),
        "forum_themes": frame("forum_themes", [(*k, *v) for k, v in themes.items()]),
    }


def compile_acts(session, acts):
    items = [(scope, scope_tables(acts, scope)) for scope in catalog.all_scopes()]
    compilation = store.start(session)
    store.save_many(session, compilation, items)
    compilation.status = "done"
    compilation.finished_at = pd.Timestamp.now().to_pydatetime()
    session.flush()
    return compilation


def unprotected(name, df, kind, code, **_kw):
    """The control switched off but small rows still hidden: what primary suppression alone
    publishes. The attacker must find cells there, or it proves nothing."""
    out = df.reset_index(drop=True).copy().astype({"value": "object", "people": "object"})
    hide = out["people"].astype(int) < privacy.THRESHOLD
    out.loc[hide, ["value", "people"]] = None
    out["suppressed"] = hide
    return out


# --- The attacker --------------------------------------------------------------------------------


class Attacker:
    def __init__(self, acts, noise=privacy.D, present_means_positive=False):
        self.noise = noise
        # Without the zero rows of the control, a row that is there counts someone.
        self.present_means_positive = present_means_positive
        # Every académie is an unknown: the published tables never say that one is empty (its
        # rows are there, hidden like any small row), so the attacker may not assume it.
        self.academies = sorted(territories().academies)
        self.themes = sorted({a.theme for a in acts})
        self.subthemes = sorted({a.subtheme for a in acts})
        self.days = sorted({a.day for a in acts})
        self.micro = {
            m: i
            for i, m in enumerate(
                product(
                    self.academies, AUDIENCES, list(KINDS), self.themes, self.subthemes, self.days
                )
            )
        }
        self.people_vars: dict[tuple, int] = {}
        self.eq: list[tuple[dict[int, float], float]] = []
        # The equalities that are public facts (exact figures of public content, missing rows):
        # a cell they pin on their own is public content, not a disclosure.
        self.public_eq: list[tuple[dict[int, float], float]] = []
        self.ub: list[tuple[dict[int, float], float]] = []  # Σ ≤ b
        self.targets: dict[tuple, tuple[dict[int, float], int]] = {}

    def n(self):
        return len(self.micro) + len(self.people_vars)

    def _acts(self, academies, audiences, label, theme, sub, day) -> dict[int, float]:
        kinds = BASE.get(label, tuple(KINDS))
        themes = self.themes if theme == "*" else [theme]
        subs = self.subthemes if sub == "*" else [sub]
        days = self.days if day == "*" else [day]
        out = {}
        for key in product(sorted(academies), sorted(audiences), kinds, themes, subs, days):
            if key in self.micro:
                out[self.micro[key]] = 1.0
        return out

    def _people(self, academies, audiences, label, theme, sub, day) -> dict[int, float]:
        out = {}
        for a, x in product(sorted(academies), sorted(audiences)):
            key = (a, x, label, theme, sub, day)
            if key not in self.people_vars:
                self.people_vars[key] = len(self.micro) + len(self.people_vars)
                var = self.people_vars[key]
                # People ≤ their acts (everyone counted did at least one).
                kinds_label = None if label == "participants" else label
                acts = self._acts({a}, {x}, kinds_label or "*", theme, sub, day)
                self.ub.append(({var: 1.0} | dict.fromkeys(acts, -1.0), 0.0))
            out[self.people_vars[key]] = 1.0
        return out

    def read(self, session, compilation):
        for scope in catalog.all_scopes():
            if not set(scope.academie_codes) & set(self.academies):
                continue  # nobody there: empty tables
            public = store.load(session, scope.kind, scope.code, public=True,
                                compilation=compilation, tables=TABLES)  # fmt: skip
            raw = store.load(session, scope.kind, scope.code, public=False,
                             compilation=compilation, tables=TABLES)  # fmt: skip
            for name in TABLES:
                self._table(scope, name, public[name], raw[name])
            self._absent(scope, public)

    def _where(self, scope, name, row):
        academies = set(scope.academie_codes)
        if name == "participation_territory":
            academies = {row["academie_code"]}
        academies &= set(self.academies)
        audiences = set(AUDIENCES) if row["audience"] == "*" else {row["audience"]}
        theme = row.get("theme_slug", "*")
        sub = row.get("subtheme_slug", "*")
        day = row.get("day", "*")
        return academies, audiences, row["indicator"], theme, sub, day

    def _published(self, coefs, shown, exact):
        if shown == 0 or exact:
            self.eq.append((coefs, float(shown)))
            if exact:
                self.public_eq.append((coefs, float(shown)))
            return
        low = max(privacy.THRESHOLD, shown - self.noise)
        self.ub.append((coefs, float(shown + self.noise)))
        self.ub.append(({i: -c for i, c in coefs.items()}, -float(low)))

    def _table(self, scope, name, public, raw):
        truth = {
            tuple(str(r[c]) for c in raw.columns if c not in ("value", "people")): r
            for r in raw.to_dict("records")
        }
        for row in public.to_dict("records"):
            academies, audiences, label, theme, sub, day = self._where(scope, name, row)
            if not academies or (label not in BASE and label != "participants"):
                continue  # nobody there, or an indicator the datasets never produce (zeros)
            if label == "participants":
                acts = self._people(academies, audiences, "participants", theme, sub, day)
                ppl = acts
            else:
                acts = self._acts(academies, audiences, label, theme, sub, day)
                ppl = self._people(academies, audiences, label, theme, sub, day)
            exact = privacy._public_cell(name, "value", row, privacy.territory(*scope.key))
            dims = [c for c in public.columns if c not in ("value", "people", "suppressed")]
            real = truth.get(tuple(str(row[c]) for c in dims))
            true_value = int(real["value"]) if real else 0
            true_people = int(real["people"]) if real else 0
            exact = exact and not row["suppressed"]  # (the baseline hides small exact rows)
            if not row["suppressed"]:
                self._published(acts, int(row["value"]), exact)
                if pd.isna(row["people"]):
                    self.ub.append((ppl, privacy.THRESHOLD - 1.0))
                else:
                    self._published(ppl, int(row["people"]), exact=False)
                if not exact:
                    continue
            else:
                self.ub.append((ppl, privacy.THRESHOLD - 1.0))
                if self.present_means_positive and real is not None:
                    self.ub.append((dict.fromkeys(ppl, -1.0), -1.0))
                if label == "participants":
                    self.ub.append((acts, privacy.THRESHOLD - 1.0))
                where = (scope.key, name, label, row.get("academie_code"), row["audience"],
                         theme, sub, day)  # fmt: skip
                self.targets[(*where, "value")] = (acts, true_value)
            where = (scope.key, name, label, row.get("academie_code"), row["audience"],
                     theme, sub, day)  # fmt: skip
            if pd.isna(row["people"]):
                self.targets[(*where, "people")] = (ppl, true_people)

    def _absent(self, scope, tables):
        """A total row that is not there is 0 (tables list every non-zero total)."""
        academies = set(scope.academie_codes) & set(self.academies)
        seen = {
            (r["indicator"], r.get("day", "*"), r.get("theme_slug", "*"),
             r.get("subtheme_slug", "*"))
            for name in ("participation", "participation_daily", "forum_themes")
            for r in tables[name][tables[name]["audience"] == "*"].to_dict("records")
        }  # fmt: skip
        for label in BASE:
            for day in self.days:
                if (label, day, "*", "*") not in seen:
                    zero = (self._acts(academies, set(AUDIENCES), label, "*", "*", day), 0.0)
                    self.eq.append(zero)
                    self.public_eq.append(zero)
            for theme, sub in product(self.themes, ["*", *self.subthemes]):
                if (label, "*", theme, sub) not in seen:
                    zero = (self._acts(academies, set(AUDIENCES), label, theme, sub, "*"), 0.0)
                    self.eq.append(zero)
                    self.public_eq.append(zero)

    def _matrix(self, rows):
        rows = list({(*sorted(c.items()), ("=", b)): (c, b) for c, b in rows if c}.values())
        if not rows:
            return None, None
        data, ri, ci = [], [], []
        for r, (coefs, _) in enumerate(rows):
            for i, c in coefs.items():
                data.append(c)
                ri.append(r)
                ci.append(i)
        return csr_matrix((data, (ri, ci)), shape=(len(rows), self.n())), np.array(
            [b for _, b in rows]
        )

    def _interval(self, coefs, a_eq, b_eq, a_ub, b_ub):
        bounds = []
        for sign in (1.0, -1.0):
            c = np.zeros(self.n())
            for i, w in coefs.items():
                c[i] = sign * w
            res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq,
                          bounds=[(0, None)] * self.n(), method="highs")  # fmt: skip
            assert res.status in (0, 3), res.message  # the truth is feasible
            bounds.append(sign * res.fun if res.status == 0 else sign * -math.inf)
        return bounds[0], bounds[1]

    def recovered(self) -> list[tuple]:
        a_eq, b_eq = self._matrix(self.eq)
        a_ub, b_ub = self._matrix(self.ub)
        p_eq, p_b = self._matrix(self.public_eq)
        found = []
        solved: dict[frozenset, tuple[float, float]] = {}
        for where, (coefs, truth) in self.targets.items():
            if truth == 0 or not coefs:
                continue  # 0 lies in its interval: it can only be pinned at 0, naming nobody
            key = frozenset(coefs.items())
            if key not in solved:
                solved[key] = self._interval(coefs, a_eq, b_eq, a_ub, b_ub)
            lo, hi = solved[key]
            assert lo - 1e-6 <= truth <= hi + 1e-6, (where, lo, truth, hi)
            if math.isinf(hi) or math.isinf(lo):
                continue
            if math.floor(hi + 1e-6) - math.ceil(lo - 1e-6) < 1:
                # Pinned. A disclosure unless the public facts alone pin it (e.g. the refusals
                # of the only day of a one-day dataset are the public national total).
                plo, phi = self._interval(coefs, p_eq, p_b, None, None)
                public = not math.isinf(phi) and math.floor(phi + 1e-6) - math.ceil(plo - 1e-6) < 1
                if not public:
                    found.append((where, truth, lo, hi))
        return found


def attack(session, acts, noise=privacy.D, present_means_positive=False):
    compilation = compile_acts(session, acts)
    attacker = Attacker(acts, noise, present_means_positive)
    attacker.read(session, compilation)
    return attacker


@pytest.mark.parametrize("name", list(DATASETS))
def test_the_attacker_recovers_no_hidden_figure(session, name):
    attacker = attack(session, DATASETS[name]())
    assert attacker.targets, "the dataset must hide something"
    assert attacker.recovered() == []


@pytest.mark.parametrize("name", list(DATASETS))
def test_primary_suppression_alone_gives_hidden_figures_away(session, monkeypatch, name):
    """The same attacker against exact figures with the small rows hidden (the rule before the
    cell key, without its per-table complements): it recovers hidden figures on every dataset,
    so the test above can fail."""
    monkeypatch.setattr(privacy, "protect", unprotected)
    attacker = attack(session, DATASETS[name](), noise=0, present_means_positive=True)
    assert attacker.recovered()


def test_two_compilations_of_unchanged_data_print_the_same_figures(session):
    """The noise is a function of the cell and its value, not of the run: recompiling changes
    nothing that is published (an attacker cannot average two draws)."""
    acts = region_of_two()
    first, second = compile_acts(session, acts), compile_acts(session, acts)
    for kind, code in (("national", ""), ("region", "76"), ("academie", TOULOUSE)):
        a = store.load(session, kind, code, public=True, compilation=first, tables=TABLES)
        b = store.load(session, kind, code, public=True, compilation=second, tables=TABLES)
        for name in TABLES:
            pd.testing.assert_frame_equal(a[name], b[name])
    # And the same cell printed in two scopes is one figure: Toulouse's row of the national
    # table is Toulouse's own total.
    national = store.load(session, "national", "", public=True, compilation=first)
    own = store.load(session, "academie", TOULOUSE, public=True, compilation=first)
    row = national["participation_territory"]
    row = row[(row["academie_code"] == TOULOUSE) & (row["audience"] == "*")]
    mine = own["participation"][own["participation"]["audience"] == "*"]
    merged = row.merge(mine, on=["indicator"], suffixes=("_nation", "_own"))
    assert not merged.empty
    nation = [str(v) for v in merged["value_nation"].tolist()]
    assert nation == [str(v) for v in merged["value_own"].tolist()]
