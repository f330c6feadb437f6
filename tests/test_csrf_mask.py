"""BREACH: compressed pages never carry the same CSRF bytes twice. Every token written is the
real one XORed with a fresh pad (consult/csrf.py); the server takes the pad off before checking."""

from __future__ import annotations

import brotli

from consult import csrf
from tests.conftest import CSRF_RE

PAGE = "/compte/connexion"


def _tokens(html: str) -> list[str]:
    return CSRF_RE.findall(html)


def test_each_page_and_each_form_gets_its_own_token(client) -> None:
    first = client.get(PAGE, headers={"Accept-Encoding": "br"})
    assert first.headers.get("Content-Encoding") == "br"
    html = brotli.decompress(first.get_data()).decode()
    second = client.get(PAGE).get_data(as_text=True)
    # A visitor's home has no form any more (no session for readers): a third login page.
    home = client.get(PAGE).get_data(as_text=True)
    tokens = _tokens(html) + _tokens(second) + _tokens(home)
    assert len(tokens) >= 3
    assert len(set(tokens)) == len(tokens)
    assert all(t.startswith(csrf.PREFIX) for t in tokens)
    # Unmasked, they all carry the session's one token (signed again each second: pages a
    # second apart differ in the stamp), and neither it nor its signed form is ever written.
    signed = {csrf.unmask(t) for t in tokens}
    real = {t.split(".")[0] for t in signed}
    assert len(real) == 1
    for page in (html, second, home):
        assert not any(t in page for t in signed | real)


def test_a_masked_token_is_accepted_and_a_tampered_one_refused(client, user) -> None:
    token = client.csrf_token(PAGE)
    data = {"email": user.email, "password": "une phrase de passe solide"}
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    refused = client.post(PAGE, data=data | {"csrf_token": tampered})
    assert refused.status_code == 400
    for junk in ("m.", "m.%%%", "m." + "A" * 3, "m." + "é" * 10, "x" * 5000):
        assert client.post(PAGE, data=data | {"csrf_token": junk}).status_code == 400
    assert client.post(PAGE, data=data | {"csrf_token": token}).status_code == 302


def test_the_javascript_header_is_unmasked_too(app, client) -> None:
    token = client.csrf_token("/")
    response = client.post("/langue", data={"lang": "fr"}, headers={"X-CSRFToken": token})
    assert response.status_code != 400


def test_mask_round_trip() -> None:
    masked = {csrf.mask("abc.DEF-123_x") for _ in range(20)}
    assert len(masked) == 20
    assert {csrf.unmask(m) for m in masked} == {"abc.DEF-123_x"}
    assert csrf.unmask("raw-token") == "raw-token"
