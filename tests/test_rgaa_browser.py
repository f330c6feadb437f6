"""The RGAA sample in Chromium: every page of ``docs/rgaa/echantillon.csv`` with real content,
checked the way the self-assessment grid says it was (axe-core, reflow at 320 px, skip links,
visible keyboard focus). A page of the sample without a check here fails the test."""

from __future__ import annotations

import uuid

import pytest

from consult import accessibility
from tests.browser_support import PASSWORD, axe_violations, login
from tests.test_forums_browser import _people_and_contribution
from tests.test_synthesis_browser import compiled  # noqa: F401 - a fixture used below

pytestmark = pytest.mark.browser

# Tab presses walked on each page: the header, the menu and the first controls of the content.
TABS = 25
# The focus ring may be drawn by the element, one of its pseudo-elements, or (DSFR's enlarged
# links: the whole card or brand block is the target) an ancestor through :focus-within.
FOCUS_STYLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const drawn = (s) => (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
    || (s.boxShadow && s.boxShadow !== 'none');
  let visible = drawn(getComputedStyle(el)) || drawn(getComputedStyle(el, '::before'))
    || drawn(getComputedStyle(el, '::after'));
  for (let up = el.parentElement, i = 0; up && !visible && i < 6; up = up.parentElement, i++) {
    visible = drawn(getComputedStyle(up));
  }
  return {tag: el.tagName, text: (el.innerText || el.value || '').slice(0, 40), visible};
}"""


def _sheet(live_server) -> int:
    from consult.db import db
    from tests.factories import RoleGrantFactory, UserFactory
    from tests.retex_factories import make_sheet

    with live_server.app.app_context():
        owner = UserFactory(academie_code="16")
        reviewer = RoleGrantFactory(
            role="coordinator", scope_kind="academie", scope_code="16", user__academie_code="16"
        ).user
        sheet = make_sheet(owner, "published", reviewer=reviewer, territory="academie:16")
        db.session.commit()
        sheet_id = sheet.id
        db.session.remove()
    return sheet_id


def _participant(live_server) -> str:
    from consult.accounts import services
    from consult.db import db

    email = f"rgaa-{uuid.uuid4().hex[:6]}@exemple.test"
    with live_server.app.app_context():
        services.register(
            db.session,
            services.ProfileData(
                pseudonym=f"Rgaa_{email[5:11]}", audience="parent", academie_code="16"
            ),
            email,
            PASSWORD,
        )
        db.session.commit()
        db.session.remove()
    return email


def _check(page, url: str | None = None) -> list[str]:
    """axe, then the keyboard walk (skip link first, focus always visible), then reflow."""
    problems = axe_violations(page, url)
    where = page.url
    page.keyboard.press("Tab")
    first = page.evaluate("() => document.activeElement.getAttribute('href') || ''")
    if not first.startswith("#"):
        problems.append(f"{where}: the first Tab stop is not a skip link ({first!r})")
    for _ in range(TABS):
        focused = page.evaluate(FOCUS_STYLE)
        if focused and not focused["visible"]:
            problems.append(f"{where}: focus not visible on {focused}")
        page.keyboard.press("Tab")
    size = page.viewport_size
    page.set_viewport_size({"width": 320, "height": 640})
    page.wait_for_timeout(200)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    if width > 321:
        problems.append(f"{where}: {width} px wide at 320 px (horizontal scrolling)")
    page.set_viewport_size(size)
    return problems


def test_the_rgaa_sample_passes_its_automated_checks(page, live_server, compiled) -> None:  # noqa: F811
    base = live_server.url
    data = _people_and_contribution(live_server)
    sheet = _sheet(live_server)
    participant = _participant(live_server)
    urls = {
        "/forums/contributions/<id>": f"/forums/contributions/{data['id']}",
        "/retex/<id>": f"/retex/{sheet}",
    }
    sample = accessibility.current().pages
    checked: set[str] = set()
    problems: list[str] = []
    for sample_page in sample:
        if sample_page.url.startswith(("/compte/", "/questionnaire/")):
            continue  # below: the account pages, the questionnaire and the form with errors
        problems += _check(page, base + urls.get(sample_page.url, sample_page.url))
        checked.add(sample_page.code)

    # The form with errors: registration sent empty.
    page.goto(f"{base}/compte/inscription")
    page.get_by_role("button", name="Créer mon compte").click()
    assert page.locator("#form-errors").is_visible()
    problems += _check(page)
    checked.add(next(p.code for p in sample if p.url == "/compte/inscription"))

    # Signed in: the account pages and a questionnaire page.
    login(page, live_server, participant)
    problems += _check(page, f"{base}/compte/")
    checked.add(next(p.code for p in sample if p.url == "/compte/"))
    page.goto(f"{base}/questionnaire/")
    page.get_by_role("button", name="Commencer").first.click()
    page.wait_for_url(f"{base}/questionnaire/page/1")
    problems += _check(page)
    checked.add(next(p.code for p in sample if p.url.startswith("/questionnaire/")))

    assert checked == {p.code for p in sample}, "a page of the sample is not checked"
    assert not problems, "\n".join(problems)
