"""Static checks over every template: catches what only breaks when a page is rendered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# _('…') / _("…") literals in templates.
GETTEXT_RE = re.compile(r"""_\(\s*(['"])(.*?)(?<!\\)\1""", re.S)
# Jinja's newstyle gettext always applies %-formatting: a lone % must be written %%.
LONE_PERCENT_RE = re.compile(r"%(?!%|\(\w+\)[sdf])")


@pytest.mark.parametrize(
    "path", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES))
)
def test_translated_strings_escape_percent_signs(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    problems = []
    for match in GETTEXT_RE.finditer(source):
        text = match.group(2).replace("%%", "")
        if LONE_PERCENT_RE.search(text):
            problems.append(match.group(0)[:80])
    assert problems == [], f"write % as %% in {path.name}: {problems}"


def test_no_plural_written_with_parentheses_in_templates() -> None:
    """« 1 version(s) », « 3 proposition(s) »: plurals go through ngettext, in the right
    number, never « (s) »."""
    from pathlib import Path

    offenders = [
        f"{path}:{number}"
        for path in sorted(Path("templates").rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "(s)" in line and "{#" not in line
    ]
    assert offenders == []
