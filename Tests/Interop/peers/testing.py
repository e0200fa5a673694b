"""Fixtures and helpers that the peers' self-tests (test_oauth_peer.py, test_oidc_peer.py) share.

    from peers.testing import peer_fixture, reset_peer as _reset  # noqa: F401

    peer = peer_fixture(lambda: OAuthPeer(clients=[...]))  # one peer for the module, reset before each test

The helpers drive a peer over plain HTTP: a session that never uses a proxy, an S256 PKCE pair, and the hidden
fields, form actions and redirect queries of the peer's pages.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests


def peer_fixture(make_peer):
    """A module-scoped fixture named after the variable it is assigned to: ``make_peer()``, started, then stopped."""

    @pytest.fixture(scope="module")
    def peer():
        p = make_peer()
        p.start()
        try:
            yield p
        finally:
            p.stop()

    return peer


@pytest.fixture(autouse=True)
def reset_peer(request):
    """Autouse (once imported into a test module): a test that uses ``peer`` starts from zeroed stats and modes."""
    if "peer" in request.fixturenames:
        request.getfixturevalue("peer").reset()


def http() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def pkce_pair():
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def hidden(page: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert m, f"no hidden field {name!r} in page"
    return html.unescape(m.group(1))


def form_action(page: str, form_id: str) -> str:
    m = re.search(rf'<form id="{form_id}" method="post" action="([^"]*)"', page)
    assert m, f"no form {form_id!r}"
    return html.unescape(m.group(1))


def query_of(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in(s: requests.Session, peer, login_page: str, username: str, password: str) -> requests.Response:
    """Post the login form of ``login_page``; returns the page its 303 leads to (not followed further)."""
    r = s.post(peer.base_url + form_action(login_page, "login-form"),
               data={"username": username, "password": password,
                     "next": hidden(login_page, "next")},
               allow_redirects=False)
    assert r.status_code == 303, r.text
    return s.get(peer.base_url + r.headers["Location"], allow_redirects=False)


def decide(s: requests.Session, peer, consent_page: str, decision: str, client, state: str) -> dict:
    """Post the consent form of ``consent_page`` with ``decision`` ("approve" or "deny"); returns the query of the
    302 back to ``client``'s redirect URI, which must carry ``state``."""
    r = s.post(peer.base_url + form_action(consent_page, "consent-form"),
               data={"csrf_token": hidden(consent_page, "csrf_token"), "decision": decision},
               allow_redirects=False)
    assert r.status_code == 302, r.text
    location = r.headers["Location"]
    assert location.startswith(client.redirect_uri.split("?")[0]), location
    query = query_of(location)
    assert query.get("state") == state
    return query


def post_token(peer, client, data: dict, auth_method: str) -> requests.Response:
    """POST ``data`` to the token endpoint as ``client``: with client_secret_basic (HTTP basic) or in the form."""
    data = dict(data)
    kwargs = {}
    if auth_method == "client_secret_basic":
        kwargs["auth"] = (client.client_id, client.client_secret)
    else:
        data.update(client_id=client.client_id, client_secret=client.client_secret)
    return http().post(peer.token_url, data=data, timeout=30, **kwargs)
