"""Print the RGAA 4.1 conformity rate of docs/rgaa/grille-rgaa-4.1.csv, as the accessibility
statement shows it: conformant criteria / applicable criteria, the status, the non-conformities.

    python scripts/rgaa_rate.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from consult import accessibility


def main() -> int:
    audit = accessibility.read()
    print(f"Audit du {audit.audited_on.isoformat()} — {len(audit.pages)} pages")
    print(
        f"Critères : {audit.conformant} C, {audit.non_conformant} NC, "
        f"{audit.not_applicable} NA ({len(audit.criteria)} au total)"
    )
    print(
        f"Taux de conformité : {audit.conformant}/{audit.applicable} = "
        f"{str(audit.rate).replace('.', ',')} % — {audit.status} conforme"
    )
    for criterion in audit.non_conformities:
        pages = ", ".join(criterion.failing_pages)
        print(f"  NC {criterion.number} {criterion.title} ({pages})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
