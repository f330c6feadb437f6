"""Suppression of small figures on the way out to the public.

A row built from fewer than ``THRESHOLD`` people has its figures blanked. Blanking one part of a
group is not enough when the group's total is shown: the hidden part would be the total minus the
shown parts. So inside each group declared in ``catalog`` a lone suppressed part takes the
next-smallest part with it, and the process repeats until nothing changes (a second suppression
in one group can make a lone one appear in another).
"""

from __future__ import annotations

import pandas as pd

from consult.api import SUPPRESSION_THRESHOLD as THRESHOLD
from synthesis import catalog


def primary(df: pd.DataFrame) -> pd.Series:
    people = pd.to_numeric(df["people"], errors="coerce")
    return (people < THRESHOLD).fillna(False).astype(bool)


def _complementary(df: pd.DataFrame, suppressed: pd.Series, group: catalog.Group) -> bool:
    """One pass over one group definition; True when a part was added. Vectorised: the daily
    and per-académie tables have tens of thousands of rows, and only the few groups with a lone
    suppressed part need a decision."""
    if group.part not in df.columns or any(k not in df.columns for k in group.keys):
        return False
    part = df[group.part].astype(str)
    is_total = part == group.total if group.total is not None else pd.Series(False, df.index)
    is_part = part.isin(group.members) if group.members is not None else ~is_total
    if group.keys:
        gid = df[list(group.keys)].astype(str).groupby(list(group.keys), sort=False).ngroup()
    else:
        gid = pd.Series(0, index=df.index)
    frame = pd.DataFrame(
        {
            "gid": gid.to_numpy(),
            "hidden": suppressed.to_numpy(),
            "people": pd.to_numeric(df["people"], errors="coerce").fillna(0).to_numpy(),
            "row": range(len(df)),
        },
        index=df.index,
    )
    parts = frame[is_part.to_numpy()]
    per_group = parts.groupby("gid")["hidden"].agg(["size", "sum"])
    lone = per_group.index[(per_group["size"] >= 2) & (per_group["sum"] == 1)]
    if group.total is not None:
        # Without a shown total the parts cannot be differenced.
        shown_totals = frame[is_total.to_numpy() & ~frame["hidden"].to_numpy()]["gid"].unique()
        lone = lone.intersection(pd.Index(shown_totals))
    if len(lone) == 0:
        return False
    shown = parts[parts["gid"].isin(lone) & ~parts["hidden"]]
    # The next-smallest part goes with the lone one (ties: the earlier row).
    chosen = shown.sort_values(["gid", "people", "row"]).groupby("gid").head(1).index
    suppressed.loc[chosen] = True
    return True


def suppression_mask(name: str, df: pd.DataFrame) -> pd.Series:
    spec = catalog.spec(name)
    if not spec.has_people or df.empty or "people" not in df.columns:
        return pd.Series(False, index=df.index)
    suppressed = primary(df).copy()
    for _round in range(100):
        changed = False
        for group in spec.groups:
            changed |= _complementary(df, suppressed, group)
        if not changed:
            break
    return suppressed


def suppress(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """The public form of a table: a ``suppressed`` column, figures None where it is True."""
    spec = catalog.spec(name)
    out = df.reset_index(drop=True).copy()
    mask = suppression_mask(name, out)
    out = out.astype({c: "object" for c in spec.figure_columns if c in out.columns})
    for column in spec.figure_columns:
        if column in out.columns:
            out.loc[mask, column] = None
    if name == "topics":
        # Open answers are never quoted in public; suppressed topics lose their quotes too.
        quotes = [c for c in out.columns if c.startswith("quote_")]
        hide = mask | (out.get("corpus", pd.Series(dtype=object)) == "open_answers")
        if quotes:
            out = out.astype(dict.fromkeys(quotes, "object"))
            out.loc[hide, quotes] = None
        # A suppressed topic's words go too: its title is made of its keywords.
        words = [c for c in ("label", "keywords") if c in out.columns]
        if words:
            out = out.astype(dict.fromkeys(words, "object"))
            out.loc[mask, words] = None
    out["suppressed"] = mask.to_numpy()
    return out
