#!/usr/bin/env python3
"""A real OpenID Connect provider for Latchkey's interop tests.

The protocol is implemented by Authlib: the OAuth 2.0 authorization code
grant with mandatory S256 PKCE, Authlib's OpenID Connect ``OpenIDCode``
extension (ID tokens, nonce, prompt handling) and its ``UserInfoEndpoint``.
ID tokens are RS256 JWTs signed by joserfc with an RSA key generated at
start-up and published at ``/jwks``. This module only supplies in-memory
storage, a tiny login/consent UI and loopback-only test-control endpoints.

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
import logging
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from urllib.parse import urlsplit

# Authlib refuses plain-http request URLs unless they are loopback; the peer
# is loopback-only, but allow any host name that resolves to it.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

from authlib.integrations.flask_oauth2 import AuthorizationServer  # noqa: E402
from authlib.integrations.flask_oauth2 import ResourceProtector  # noqa: E402
from authlib.oauth2 import OAuth2Error  # noqa: E402
from authlib.oauth2.rfc6749 import ClientMixin  # noqa: E402
from authlib.oauth2.rfc6749 import TokenMixin  # noqa: E402
from authlib.oauth2.rfc6749 import grants  # noqa: E402
from authlib.oauth2.rfc6749.errors import InvalidRequestError  # noqa: E402
from authlib.oauth2.rfc6749.util import list_to_scope  # noqa: E402
from authlib.oauth2.rfc6749.util import scope_to_list  # noqa: E402
from authlib.oauth2.rfc6750 import BearerTokenValidator  # noqa: E402
from authlib.oauth2.rfc7636 import CodeChallenge  # noqa: E402
from authlib.oidc.core import AuthorizationCodeMixin  # noqa: E402
from authlib.oidc.core import OpenIDCode  # noqa: E402
from authlib.oidc.core import UserInfo  # noqa: E402
from authlib.oidc.core import UserInfoEndpoint  # noqa: E402
from authlib.oidc.core.errors import ConsentRequiredError  # noqa: E402
from flask import Flask  # noqa: E402
from flask import Response  # noqa: E402
from flask import jsonify  # noqa: E402
from flask import redirect  # noqa: E402
from flask import render_template_string  # noqa: E402
from flask import request  # noqa: E402
from flask import session  # noqa: E402
from joserfc.jwk import KeySet  # noqa: E402
from joserfc.jwk import RSAKey  # noqa: E402
from werkzeug.serving import ThreadedWSGIServer  # noqa: E402

ALLOWED_SCOPES = ["openid", "profile", "email"]
DEFAULT_SCOPE = "openid"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
ID_TOKEN_ALG = "RS256"
AUTHORIZATION_CODE_TTL = 600
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


USERS = {
    u.login: u
    for u in (
        User("oidc-alice", "alice", "alice-password", "Alice Example", "alice@example.com", True),
        User("oidc-bob", "bob", "bob-password", "Bob Example", "bob@example.com", True),
        User("oidc-mallory", "mallory", "mallory-password", "Mallory Example", "mallory@example.com", True),
        User("oidc-unverified", "unverified", "unverified-password", "Unverified Example",
             "unverified@example.com", False),
    )
}
USERS_BY_SUB = {u.sub: u for u in USERS.values()}


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uri: str
    auth_method: str | None = None  # None: either client_secret_basic or client_secret_post
    client_metadata: dict = field(default_factory=dict)  # read by Authlib's UserInfoEndpoint

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uri

    def get_allowed_scope(self, scope):
        if not scope:
            return DEFAULT_SCOPE
        return list_to_scope([s for s in scope_to_list(scope) if s in ALLOWED_SCOPES])

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri == self.redirect_uri  # exact match

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(self.client_secret, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        if self.auth_method is not None:
            return method == self.auth_method
        return method in AUTH_METHODS

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    user_sub: str
    redirect_uri: str | None
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    auth_time: int
    issued_at: float = field(default_factory=time.time)

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def is_expired(self):
        return time.time() >= self.issued_at + AUTHORIZATION_CODE_TTL


@dataclass
class Token(TokenMixin):
    client_id: str
    user_sub: str
    access_token: str
    scope: str
    expires_in: int
    token_type: str = "Bearer"
    issued_at: float = field(default_factory=time.time)

    def check_client(self, client):
        return self.client_id == client.get_client_id()

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self):
        return False

    def get_user(self):
        return USERS_BY_SUB.get(self.user_sub)

    def get_client(self):
        return STORE.clients.get(self.client_id)


class Store:
    """All mutable state, guarded by one re-entrant lock."""

    def __init__(self):
        self.lock = threading.RLock()
        # Serialises token-endpoint grant processing: a code is redeemed at most once.
        self.grant_lock = threading.Lock()
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.by_access: dict[str, Token] = {}
        self.used_nonces: set[tuple[str, str]] = set()
        self.id_tokens: list[dict] = []
        self.stats = self._zero_stats()
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

    def bump(self, key, n=1):
        with self.lock:
            self.stats[key] = self.stats.get(key, 0) + n

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


class S256RequiredCodeChallenge(CodeChallenge):
    """Authlib's PKCE extension, mandatory for every client (confidential ones too) and S256-only.

    Once every code carries a challenge, Authlib itself rejects token
    requests that lack ``code_verifier`` (invalid_request) or carry a wrong
    one (invalid_grant).
    """

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: 'code_challenge_method' must be S256")
        return super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)

    def save_authorization_code(self, code, req):
        data = req.payload.data
        nonce = data.get("nonce")
        item = AuthorizationCode(
            code=code,
            client_id=req.client.get_client_id(),
            user_sub=req.user.sub,
            redirect_uri=req.payload.redirect_uri,
            scope=req.scope,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            nonce=nonce,
            auth_time=int(getattr(req, "peer_auth_time", None) or time.time()),
        )
        with STORE.lock:
            STORE.codes[code] = item
            if nonce:
                STORE.used_nonces.add((item.client_id, nonce))

    def query_authorization_code(self, code, client):
        with STORE.lock:
            item = STORE.codes.get(code)
        if item and item.client_id == client.get_client_id() and not item.is_expired():
            return item
        return None

    def delete_authorization_code(self, authorization_code):
        with STORE.lock:
            STORE.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code):
        return USERS_BY_SUB.get(authorization_code.user_sub)


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


class PeerBearerTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        with STORE.lock:
            return STORE.by_access.get(token_string)


def query_client(client_id):
    with STORE.lock:
        return STORE.clients.get(client_id)


def save_token(token, req):
    item = Token(
        client_id=req.client.get_client_id(),
        user_sub=req.user.sub,
        access_token=token["access_token"],
        scope=token.get("scope", ""),
        expires_in=int(token.get("expires_in", 0)),
    )
    with STORE.lock:
        STORE.by_access[item.access_token] = item
        STORE.stats["authorization_code_grants"] += 1


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{{ title }} - OIDC Test Peer</title></head>
<body>
<h1 id="page-title">{{ title }}</h1>
{% if error %}<p id="login-error" role="alert">{{ error }}</p>{% endif %}
{% if kind == "login" %}
<form id="login-form" method="post" action="/login">
  <input type="hidden" name="next" value="{{ next }}">
  <label>Username <input type="text" id="username" name="username" autocomplete="username"></label>
  <label>Password <input type="password" id="password" name="password" autocomplete="current-password"></label>
  <button type="submit" id="login" name="login" value="1">Sign in</button>
</form>
{% elif kind == "consent" %}
<p>Signed in as <span id="user-name">{{ user.name }}</span> (<span id="user-login">{{ user.login }}</span>)</p>
<p>The application <strong id="client-id">{{ client_id }}</strong> requests access to:</p>
<ul id="scopes">
{% for s in scopes %}  <li class="scope" id="scope-{{ s }}">{{ s }}</li>
{% endfor %}</ul>
<form id="consent-form" method="post" action="{{ action }}">
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <button type="submit" id="approve" name="decision" value="approve">Approve</button>
  <button type="submit" id="deny" name="decision" value="deny">Deny</button>
</form>
{% elif kind == "error" %}
<p>Error: <code id="error">{{ error_code }}</code></p>
<p id="error-description">{{ description }}</p>
{% else %}
<p id="message">{{ message }}</p>
{% endif %}
</body></html>
"""


def page(status=200, **ctx):
    ctx.setdefault("error", None)
    body = render_template_string(PAGE, **ctx)  # autoescaped
    return Response(body, status=status, mimetype="text/html")


# --------------------------------------------------------------------------
# App
# --------------------------------------------------------------------------


def create_app(issuer, port, access_token_ttl=3600, id_token_ttl=3600,
               require_nonce=True, remember_consent=False):
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        # Cookies are not port-isolated: give each peer its own cookie name.
        SESSION_COOKIE_NAME=f"oidc_peer_session_{port}",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        OAUTH2_TOKEN_EXPIRES_IN={"authorization_code": access_token_ttl},
        OAUTH2_SCOPES_SUPPORTED=ALLOWED_SCOPES,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )

    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(AuthorizationCodeGrant, [
        S256RequiredCodeChallenge(required=True),
        PeerOpenIDCode(issuer, id_token_ttl, require_nonce),
    ])
    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(PeerBearerTokenValidator())
    server.register_endpoint(PeerUserInfoEndpoint(issuer, require_oauth))

    base = issuer.rstrip("/")

    def current_user():
        sub = session.get("user_sub")
        return USERS_BY_SUB.get(sub) if sub else None

    def csrf_token():
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(24)
        return session["csrf"]

    def consent_key(grant):
        return grant.client.get_client_id() + " " + " ".join(sorted(scope_to_list(grant.request.scope) or []))

    def oauth_error_page(error):
        if getattr(error, "redirect_uri", None):
            return server.handle_error_response(None, error)  # 302 back to the client
        return page(status=error.status_code, kind="error", title="Authorization error",
                    error_code=error.error, description=error.get_error_description())

    def approve(grant, user):
        grant.request.peer_auth_time = session.get("auth_time")
        STORE.bump("authorizations_approved")
        if remember_consent:
            session.setdefault("consented", [])
            session["consented"] = sorted(set(session["consented"]) | {consent_key(grant)})
        return server.create_authorization_response(grant=grant, grant_user=user)

    # ---------------- authorization endpoint ----------------

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize():
        user = current_user()
        try:
            grant = server.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            return oauth_error_page(error)

        # prompt=login asks for a fresh sign-in even with a session: honour it once per authorization request.
        if user is not None and grant.prompt == "login" and session.get("fresh_login_for") != request.full_path:
            user = None
        if user is None:
            return page(status=200 if request.method == "GET" else 401,
                        kind="login", title="Sign in", next=request.full_path)

        if request.method == "GET":
            remembered = remember_consent and consent_key(grant) in session.get("consented", [])
            prompts = (grant.request.payload.data.get("prompt") or "").split()
            if remembered and "consent" not in prompts:
                return approve(grant, user)
            if "none" in prompts:
                return oauth_error_page(ConsentRequiredError(redirect_uri=grant.redirect_uri,
                                                            state=grant.request.payload.state))
            return page(kind="consent", title="Authorize application", user=user,
                        client_id=grant.client.get_client_id(),
                        scopes=scope_to_list(grant.request.scope) or [],
                        action=request.full_path, csrf_token=csrf_token())

        sent = request.form.get("csrf_token", "")
        if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
            return page(status=400, kind="error", title="Authorization error",
                        error_code="csrf", description="Missing or invalid CSRF token.")
        if request.form.get("decision") == "approve":
            return approve(grant, user)
        STORE.bump("authorizations_denied")
        return server.create_authorization_response(grant=grant, grant_user=None)

    @app.route("/login", methods=["GET", "POST"])
    def login():
        nxt = request.values.get("next") or "/"
        if not nxt.startswith("/") or nxt.startswith("//"):
            nxt = "/"
        if request.method == "GET":
            return page(kind="login", title="Sign in", next=nxt)
        user = USERS.get(request.form.get("username", ""))
        password = request.form.get("password", "")
        if user is None or not secrets.compare_digest(user.password, password):
            STORE.bump("failed_logins")
            return page(status=401, kind="login", title="Sign in", next=nxt,
                        error="Invalid username or password.")
        session.clear()
        session["user_sub"] = user.sub
        session["auth_time"] = int(time.time())
        session["csrf"] = secrets.token_urlsafe(24)
        session["fresh_login_for"] = nxt
        STORE.bump("logins")
        return redirect(nxt, code=303)

    @app.route("/logout", methods=["GET", "POST"])
    def logout():
        session.clear()
        return page(kind="message", title="Signed out", message="You are signed out.")

    # ---------------- token / userinfo / keys ----------------

    @app.post("/token")
    def issue_token():
        STORE.bump("token_requests")
        with STORE.grant_lock:
            resp = server.create_token_response()
        if resp.status_code >= 400:
            STORE.bump("failed_token_requests")
        return resp

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
        return jsonify(
            issuer=issuer,
            authorization_endpoint=f"{base}/authorize",
            token_endpoint=f"{base}/token",
            userinfo_endpoint=f"{base}/userinfo",
            jwks_uri=f"{base}/jwks",
            scopes_supported=ALLOWED_SCOPES,
            response_types_supported=["code"],
            response_modes_supported=["query"],
            grant_types_supported=["authorization_code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=[ID_TOKEN_ALG],
            token_endpoint_auth_methods_supported=list(AUTH_METHODS),
            code_challenge_methods_supported=["S256"],
            claims_supported=["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
                              "name", "preferred_username", "email", "email_verified"],
            prompt_values_supported=["none", "login", "consent"],
        )

    @app.get("/")
    def index():
        return page(kind="message", title="OIDC Test Peer", message="Latchkey interop OpenID Connect peer.")

    # ---------------- test control (loopback, unauthenticated) ----------------

    @app.get("/_control/stats")
    def control_stats():
        with STORE.lock:
            return jsonify(dict(STORE.stats))

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

    @app.post("/_control/reset")
    def control_reset():
        STORE.reset()
        return jsonify(ok=True)

    @app.post("/_control/clients")
    def control_add_client():
        body = request.get_json(silent=True) or {}
        try:
            client = make_client(body["client_id"], body["client_secret"], body["redirect_uri"],
                                 body.get("auth_method"))
        except (KeyError, ValueError) as exc:
            return jsonify(error=str(exc)), 400
        with STORE.lock:
            STORE.clients[client.client_id] = client
        return jsonify(ok=True), 201

    return app


def make_client(client_id, client_secret, redirect_uri, auth_method=None):
    if auth_method is not None and auth_method not in AUTH_METHODS:
        raise ValueError(f"auth method must be one of {AUTH_METHODS}, got {auth_method!r}")
    if not client_id or not client_secret or not redirect_uri:
        raise ValueError("client id, secret and redirect URI must be non-empty")
    if urlsplit(redirect_uri).scheme not in ("http", "https") and ":" not in redirect_uri:
        raise ValueError(f"redirect URI looks invalid: {redirect_uri!r}")
    return Client(client_id, client_secret, redirect_uri, auth_method)


def parse_client(spec):
    parts = spec.split(":", 2)
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"--client must be ID:SECRET:REDIRECT_URI, got {spec!r}")
    client_id, secret, rest = parts
    auth_method = None
    method, sep, uri = rest.partition(":")
    if sep and method in AUTH_METHODS:
        auth_method, rest = method, uri
    try:
        return make_client(client_id, secret, rest, auth_method)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


class PeerWSGIServer(ThreadedWSGIServer):
    request_queue_size = 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--issuer", default=None, help="default http://HOST:PORT")
    parser.add_argument("--access-token-ttl", type=positive_int, default=3600)
    parser.add_argument("--id-token-ttl", type=positive_int, default=3600)
    parser.add_argument("--no-require-nonce", dest="require_nonce", action="store_false",
                        help="accept authorization requests without a nonce (required by default)")
    parser.add_argument("--remember-consent", action="store_true",
                        help="skip the consent page once a client/scope was approved in this browser session")
    parser.add_argument("--client", dest="clients", action="append", type=parse_client, default=[],
                        metavar="ID:SECRET:REDIRECT_URI")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    for c in args.clients:
        STORE.clients[c.client_id] = c

    # Bind first so that --port 0 works and the issuer knows the real port.
    holder = {}

    def app_proxy(environ, start_response):
        return holder["app"](environ, start_response)

    httpd = PeerWSGIServer(args.host, args.port, app_proxy)
    port = httpd.socket.getsockname()[1]
    host_for_url = f"[{args.host}]" if ":" in args.host else args.host
    issuer = args.issuer or f"http://{host_for_url}:{port}"
    holder["app"] = create_app(issuer, port, access_token_ttl=args.access_token_ttl,
                               id_token_ttl=args.id_token_ttl, require_nonce=args.require_nonce,
                               remember_consent=args.remember_consent)

    print(f"READY {port}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
