#!/usr/bin/env python3
"""A real OpenID Connect provider for Latchkey's interop tests.

The protocol is implemented by Authlib: the OAuth 2.0 authorization code
grant with mandatory S256 PKCE, Authlib's OpenID Connect ``OpenIDCode``
extension (ID tokens, nonce, prompt handling) and its ``UserInfoEndpoint``.
ID tokens are RS256 JWTs signed by joserfc with an RSA key generated at
start-up and published at ``/jwks``. This module only supplies in-memory
storage, a tiny login/consent UI and loopback-only test-control endpoints.
What it shares with the OAuth peer (oauth_server.py) lives next to it in
authlib_common.py, flask_pages.py and serving.py.

Run:

    python3 oidc_server.py --port 0 \
        --client latchkey:s3cret:http://127.0.0.1:8400/callback

and wait for the line ``READY <port>`` on stdout. The issuer is
``http://127.0.0.1:<port>``. A client accepts both client_secret_basic and
client_secret_post at the token endpoint; to pin one, write it before the
redirect URI: ``--client ID:SECRET:client_secret_post:REDIRECT_URI``.

This is a test peer. It binds to loopback, keeps everything in memory and
exposes unauthenticated /_control endpoints. Never expose it to a network.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from dataclasses import field

# Authlib refuses plain-http request URLs unless they are loopback; the peer
# is loopback-only, but allow any host name that resolves to it.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

from authlib.integrations.flask_oauth2 import AuthorizationServer  # noqa: E402
from authlib.integrations.flask_oauth2 import ResourceProtector  # noqa: E402
from authlib.oauth2.rfc6749.util import scope_to_list  # noqa: E402
from authlib.oidc.core import AuthorizationCodeMixin  # noqa: E402
from authlib.oidc.core import OpenIDCode  # noqa: E402
from authlib.oidc.core import UserInfo  # noqa: E402
from authlib.oidc.core import UserInfoEndpoint  # noqa: E402
from authlib.oidc.core.errors import ConsentRequiredError  # noqa: E402
from flask import jsonify  # noqa: E402
from flask import request  # noqa: E402
from flask import session  # noqa: E402
from joserfc.jwk import KeySet  # noqa: E402
from joserfc.jwk import RSAKey  # noqa: E402

from authlib_common import AUTH_METHODS  # noqa: E402
from authlib_common import PeerStore  # noqa: E402
from authlib_common import RegisteredClient  # noqa: E402
from authlib_common import S256RequiredCodeChallenge  # noqa: E402
from authlib_common import StoreBearerTokenValidator  # noqa: E402
from authlib_common import StoredCode  # noqa: E402
from authlib_common import StoredCodeGrant  # noqa: E402
from authlib_common import StoredToken  # noqa: E402
from authlib_common import by_login  # noqa: E402
from authlib_common import check_registration  # noqa: E402
from authlib_common import provider_metadata  # noqa: E402
from authlib_common import token_response  # noqa: E402
from flask_pages import Pages  # noqa: E402
from flask_pages import add_control_routes  # noqa: E402
from flask_pages import create_flask_app  # noqa: E402
from serving import add_client_arguments  # noqa: E402
from serving import argument_parser  # noqa: E402
from serving import client_argument  # noqa: E402
from serving import positive_int  # noqa: E402
from serving import serve  # noqa: E402

ALLOWED_SCOPES = ["openid", "profile", "email"]
DEFAULT_SCOPE = "openid"
ID_TOKEN_ALG = "RS256"
# How the next ID token is made deliberately bad (see /_control/mode).
ID_TOKEN_MODES = ("normal", "wrong_nonce", "wrong_aud", "wrong_iss", "expired", "other_key")


# --------------------------------------------------------------------------
# Models (in memory)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    sub: str
    login: str
    password: str
    name: str
    email: str
    email_verified: bool

    def get_user_id(self):
        return self.sub

    def claims(self) -> UserInfo:
        """Every claim the provider knows about this user."""
        return UserInfo(sub=self.sub, name=self.name, preferred_username=self.login,
                        email=self.email, email_verified=self.email_verified)


USERS = by_login(
    User("oidc-alice", "alice", "alice-password", "Alice Example", "alice@example.com", True),
    User("oidc-bob", "bob", "bob-password", "Bob Example", "bob@example.com", True),
    User("oidc-mallory", "mallory", "mallory-password", "Mallory Example", "mallory@example.com", True),
    User("oidc-unverified", "unverified", "unverified-password", "Unverified Example",
         "unverified@example.com", False),
)
USERS_BY_SUB = {u.sub: u for u in USERS.values()}


@dataclass
class Client(RegisteredClient, allowed_scopes=ALLOWED_SCOPES, default_scope=DEFAULT_SCOPE):
    redirect_uri: str
    auth_method: str | None = None  # None: either client_secret_basic or client_secret_post
    client_metadata: dict = field(default_factory=dict)  # read by Authlib's UserInfoEndpoint

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(self.client_secret, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        if self.auth_method is not None:
            return method == self.auth_method
        return method in AUTH_METHODS

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass(kw_only=True)
class AuthorizationCode(StoredCode, AuthorizationCodeMixin):
    """``user_id`` is the user's ``sub``."""

    nonce: str | None
    auth_time: int

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time


class Store(PeerStore):
    """All mutable state, guarded by one re-entrant lock."""

    def __init__(self):
        super().__init__()
        self.used_nonces: set[tuple[str, str]] = set()
        self.id_tokens: list[dict] = []
        self.mode = self._normal()

    @staticmethod
    def _zero_stats():
        return {
            "logins": 0,
            "failed_logins": 0,
            "authorizations_approved": 0,
            "authorizations_denied": 0,
            "token_requests": 0,
            "failed_token_requests": 0,
            "authorization_code_grants": 0,
            "id_tokens_issued": 0,
            "bad_id_tokens_issued": 0,
            "userinfo_calls": 0,
            "jwks_requests": 0,
            "discovery_requests": 0,
        }

    @staticmethod
    def _normal():
        return {"mode": "normal", "count": None}

    def set_mode(self, mode, count=1):
        with self.lock:
            self.mode = self._normal() if mode == "normal" else {"mode": mode, "count": count}
            return dict(self.mode)

    def current_mode(self):
        with self.lock:
            return dict(self.mode)

    def take_mode(self):
        """The mode for the ID token being issued now; spends one use of a counted mode."""
        with self.lock:
            m = self.mode
            if m["mode"] == "normal":
                return "normal"
            if m["count"] is not None:
                m["count"] -= 1
                if m["count"] <= 0:
                    self.mode = self._normal()
            return m["mode"]

    def reset(self):
        with self.lock:
            self.stats = self._zero_stats()
            self.mode = self._normal()
            self.id_tokens = []


STORE = Store()


class Token(StoredToken):
    """``user_id`` is the user's ``sub``."""

    store = STORE
    users_by_id = USERS_BY_SUB


class Keys:
    """The provider's signing key (published in /jwks) and an impostor with the same kid (never published)."""

    def __init__(self):
        self.kid = "oidc-peer-" + secrets.token_hex(4)
        params = {"kid": self.kid, "use": "sig", "alg": ID_TOKEN_ALG}
        self.signing = RSAKey.generate_key(2048, parameters=params, private=True)
        self.impostor = RSAKey.generate_key(2048, parameters=params, private=True)

    def public_jwks(self) -> dict:
        return KeySet([self.signing]).as_dict(private=False)


KEYS = Keys()


# --------------------------------------------------------------------------
# Authlib wiring
# --------------------------------------------------------------------------


class AuthorizationCodeGrant(StoredCodeGrant):
    store = STORE
    users_by_id = USERS_BY_SUB

    def save_authorization_code(self, code, req):
        nonce = req.payload.data.get("nonce")
        item = AuthorizationCode(
            **self.code_fields(code, req),
            nonce=nonce,
            auth_time=int(getattr(req, "peer_auth_time", None) or time.time()),
        )
        with STORE.lock:
            STORE.codes[code] = item
            if nonce:
                STORE.used_nonces.add((item.client_id, nonce))


_id_token_mode = threading.local()


class PeerOpenIDCode(OpenIDCode):
    """Authlib's OpenID Connect extension for the code grant.

    Authlib builds and signs the ID token (joserfc); the overrides only
    supply the issuer, key and user claims, and, when a test asked for it
    through /_control/mode, spoil exactly one aspect of the next token.
    """

    def __init__(self, issuer, id_token_ttl, require_nonce):
        super().__init__(require_nonce=require_nonce)
        self.issuer = issuer
        self.DEFAULT_EXPIRES_IN = id_token_ttl

    @staticmethod
    def _mode():
        return getattr(_id_token_mode, "value", "normal")

    def exists_nonce(self, nonce, request):
        with STORE.lock:
            return (request.payload.client_id, nonce) in STORE.used_nonces

    def resolve_client_private_key(self, client):
        return KEYS.impostor if self._mode() == "other_key" else KEYS.signing

    def get_client_algorithm(self, client):
        return ID_TOKEN_ALG

    def get_encode_header(self, client):
        return {"alg": ID_TOKEN_ALG, "kid": KEYS.kid, "typ": "JWT"}

    def get_client_claims(self, client):
        mode = self._mode()
        return {
            "iss": "http://evil.invalid" if mode == "wrong_iss" else self.issuer,
            "aud": "someone-else" if mode == "wrong_aud" else client.get_client_id(),
        }

    def get_compatible_claims(self, request):
        claims = super().get_compatible_claims(request)
        if self._mode() == "expired":
            now = int(time.time())
            claims.update(iat=now - 7200, auth_time=now - 7200, exp=now - 3600)
        return claims

    def get_authorization_code_claims(self, authorization_code):
        claims = super().get_authorization_code_claims(authorization_code)
        if self._mode() == "wrong_nonce":
            claims["nonce"] = "wrong-" + secrets.token_urlsafe(12)
        return claims

    def generate_user_info(self, user, scope):
        # The ID token always carries the user's name and email claims, whatever the scope.
        return user.claims()

    def encode_id_token(self, token, request):
        mode = STORE.take_mode()
        _id_token_mode.value = mode
        try:
            id_token = super().encode_id_token(token, request)
        finally:
            _id_token_mode.value = "normal"
        code = request.authorization_code
        with STORE.lock:
            STORE.stats["id_tokens_issued"] += 1
            if mode != "normal":
                STORE.stats["bad_id_tokens_issued"] += 1
            STORE.id_tokens.append({
                "id_token": id_token, "mode": mode, "client_id": request.client.get_client_id(),
                "user": request.user.login, "requested_nonce": code.get_nonce() if code else None,
            })
        return id_token


class PeerUserInfoEndpoint(UserInfoEndpoint):
    def __init__(self, issuer, resource_protector):
        super().__init__(resource_protector=resource_protector)
        self.issuer = issuer

    def get_issuer(self):
        return self.issuer

    def generate_user_info(self, user, scope):
        return user.claims().filter(scope)

    def resolve_private_key(self):
        return KEYS.signing


def save_token(token, req):
    item = Token(**Token.issued_fields(token, req))
    with STORE.lock:
        STORE.by_access[item.access_token] = item
        STORE.stats["authorization_code_grants"] += 1


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------

PAGES = Pages("OIDC Test Peer", "Latchkey interop OpenID Connect peer.")


# --------------------------------------------------------------------------
# App
# --------------------------------------------------------------------------


def create_app(issuer, port, access_token_ttl=3600, id_token_ttl=3600,
               require_nonce=True, remember_consent=False):
    app = create_flask_app(__name__, f"oidc_peer_session_{port}", ALLOWED_SCOPES, 1024 * 1024,
                           OAUTH2_TOKEN_EXPIRES_IN={"authorization_code": access_token_ttl})

    server = AuthorizationServer(app, query_client=STORE.query_client, save_token=save_token)
    server.register_grant(AuthorizationCodeGrant, [
        S256RequiredCodeChallenge(required=True),
        PeerOpenIDCode(issuer, id_token_ttl, require_nonce),
    ])
    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(StoreBearerTokenValidator(STORE))
    server.register_endpoint(PeerUserInfoEndpoint(issuer, require_oauth))

    base = issuer.rstrip("/")

    def current_user():
        sub = session.get("user_sub")
        return USERS_BY_SUB.get(sub) if sub else None

    def consent_key(grant):
        return grant.client.get_client_id() + " " + " ".join(sorted(scope_to_list(grant.request.scope) or []))

    def approve(grant, user):
        grant.request.peer_auth_time = session.get("auth_time")
        STORE.bump("authorizations_approved")
        if remember_consent:
            session.setdefault("consented", [])
            session["consented"] = sorted(set(session["consented"]) | {consent_key(grant)})
        return server.create_authorization_response(grant=grant, grant_user=user)

    # ---------------- authorization endpoint ----------------

    def must_sign_in_again(grant):
        # prompt=login asks for a fresh sign-in even with a session: honour it once per authorization request.
        return grant.prompt == "login" and session.get("fresh_login_for") != request.full_path

    def answer_without_consent(grant, user):
        remembered = remember_consent and consent_key(grant) in session.get("consented", [])
        prompts = (grant.request.payload.data.get("prompt") or "").split()
        if remembered and "consent" not in prompts:
            return approve(grant, user)
        if "none" in prompts:
            return PAGES.oauth_error(server, ConsentRequiredError(redirect_uri=grant.redirect_uri,
                                                                  state=grant.request.payload.state))
        return None

    PAGES.add_authorize_route(app, server, current_user, STORE.bump, approve,
                              must_sign_in_again, answer_without_consent)

    def remember(user, nxt):
        session["user_sub"] = user.sub
        session["auth_time"] = int(time.time())
        session["fresh_login_for"] = nxt

    PAGES.add_routes(app, USERS, STORE.bump, remember)

    # ---------------- token / userinfo / keys ----------------

    @app.post("/token")
    def issue_token():
        STORE.bump("token_requests")
        return token_response(server, STORE)

    @app.route("/userinfo", methods=["GET", "POST"])
    def userinfo():
        STORE.bump("userinfo_calls")
        return server.create_endpoint_response(PeerUserInfoEndpoint.ENDPOINT_NAME)

    @app.get("/jwks")
    def jwks():
        STORE.bump("jwks_requests")
        return jsonify(KEYS.public_jwks())

    @app.get("/.well-known/openid-configuration")
    def discovery():
        STORE.bump("discovery_requests")
        return jsonify(provider_metadata(
            issuer, ALLOWED_SCOPES,
            jwks_uri=f"{base}/jwks",
            response_modes_supported=["query"],
            grant_types_supported=["authorization_code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=[ID_TOKEN_ALG],
            claims_supported=["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
                              "name", "preferred_username", "email", "email_verified"],
            prompt_values_supported=["none", "login", "consent"],
        ))

    # ---------------- test control (loopback, unauthenticated) ----------------

    add_control_routes(app, STORE, client_from_json)

    @app.get("/_control/mode")
    def control_mode_get():
        return jsonify(STORE.current_mode())

    @app.post("/_control/mode")
    @app.post("/_control/set_mode")
    def control_mode():
        """{"mode": M[, "count": N | null]}: the next N ID tokens (default 1; null: all) are made bad as M."""
        body = request.get_json(silent=True) or {}
        mode = body.get("mode")
        if mode not in ID_TOKEN_MODES:
            return jsonify(error=f"unknown mode {mode!r}", modes=list(ID_TOKEN_MODES)), 400
        count = body.get("count", 1)
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            return jsonify(error="count must be a positive integer or null"), 400
        return jsonify(STORE.set_mode(mode, count))

    @app.get("/_control/id_tokens")
    def control_id_tokens():
        """Every ID token issued since the last reset, with the mode it was made in."""
        with STORE.lock:
            return jsonify(list(STORE.id_tokens))

    return app


def make_client(client_id, client_secret, redirect_uri, auth_method=None):
    check_registration(client_id, client_secret, redirect_uri, auth_method, any_method_if_none=True)
    return Client(client_id, client_secret, redirect_uri, auth_method)


def client_from_json(body):
    """A client for /_control/clients (``auth_method`` may be left out: either)."""
    return make_client(body["client_id"], body["client_secret"], body["redirect_uri"], body.get("auth_method"))


def parse_client(spec):
    parts = spec.split(":", 2)
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"--client must be ID:SECRET:REDIRECT_URI, got {spec!r}")
    client_id, secret, rest = parts
    auth_method = None
    method, sep, uri = rest.partition(":")
    if sep and method in AUTH_METHODS:
        auth_method, rest = method, uri
    return client_argument(make_client, client_id, secret, rest, auth_method)


def main(argv=None):
    parser = argument_parser(__doc__)
    parser.add_argument("--issuer", default=None, help="default http://HOST:PORT")
    parser.add_argument("--access-token-ttl", type=positive_int, default=3600)
    parser.add_argument("--id-token-ttl", type=positive_int, default=3600)
    parser.add_argument("--no-require-nonce", dest="require_nonce", action="store_false",
                        help="accept authorization requests without a nonce (required by default)")
    parser.add_argument("--remember-consent", action="store_true",
                        help="skip the consent page once a client/scope was approved in this browser session")
    add_client_arguments(parser, parse_client, "ID:SECRET:REDIRECT_URI")
    args = parser.parse_args(argv)
    return serve(args, STORE, lambda issuer, port: create_app(
        issuer, port, access_token_ttl=args.access_token_ttl, id_token_ttl=args.id_token_ttl,
        require_nonce=args.require_nonce, remember_consent=args.remember_consent))


if __name__ == "__main__":
    sys.exit(main())
