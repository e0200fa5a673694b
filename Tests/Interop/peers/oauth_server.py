#!/usr/bin/env python3
"""A real OAuth 2.0 authorization server for Latchkey's interop tests.

The OAuth protocol itself is implemented by Authlib (authorization code grant,
refresh token grant, PKCE, RFC 7009 revocation, bearer-token resource
protection); this module only supplies in-memory storage, a tiny login/consent
UI, a stand-in provider API and some loopback-only test-control endpoints.

Run:

    python3 oauth_server.py --port 0 \
        --client latchkey:s3cret:client_secret_basic:http://127.0.0.1:8400/callback

and wait for the line ``READY <port>`` on stdout.

This is a test peer. It binds to loopback, keeps everything in memory and
exposes unauthenticated /_control endpoints. Never expose it to a network.
"""

from __future__ import annotations

import argparse
import hashlib
import json
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
# is loopback-only, but allow any host name that resolves to it (e.g. an
# /etc/hosts alias) so the failure mode is never "insecure_transport".
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.flask_oauth2 import AuthorizationServer  # noqa: E402
from authlib.integrations.flask_oauth2 import ResourceProtector  # noqa: E402
from authlib.oauth2 import OAuth2Error  # noqa: E402
from authlib.oauth2.rfc6749 import ClientMixin  # noqa: E402
from authlib.oauth2.rfc6749 import TokenMixin  # noqa: E402
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin  # noqa: E402
from authlib.oauth2.rfc6749 import grants  # noqa: E402
from authlib.oauth2.rfc6749.errors import InvalidRequestError  # noqa: E402
from authlib.oauth2.rfc6749.util import list_to_scope  # noqa: E402
from authlib.oauth2.rfc6749.util import scope_to_list  # noqa: E402
from authlib.oauth2.rfc6750 import BearerTokenValidator  # noqa: E402
from authlib.oauth2.rfc7009 import RevocationEndpoint  # noqa: E402
from authlib.oauth2.rfc7636 import CodeChallenge  # noqa: E402
from authlib.oauth2.rfc7662 import IntrospectionEndpoint  # noqa: E402
from flask import Flask  # noqa: E402
from flask import Response  # noqa: E402
from flask import jsonify  # noqa: E402
from flask import redirect  # noqa: E402
from flask import render_template_string  # noqa: E402
from flask import request  # noqa: E402
from flask import session  # noqa: E402
from werkzeug.serving import ThreadedWSGIServer  # noqa: E402

ALLOWED_SCOPES = ["profile", "email", "repo", "write", "offline_access"]
DEFAULT_SCOPE = "profile"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
AUTHORIZATION_CODE_TTL = 600
MODES = ("normal", "invalid_grant", "unavailable", "slow", "hang", "html", "huge", "invalid_token")
HUGE_TARGET_BYTES = 11 * 1024 * 1024


# --------------------------------------------------------------------------
# Models (in memory)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    id: str
    login: str
    password: str
    name: str
    email: str

    def get_user_id(self):
        return self.id


USERS = {
    u.login: u
    for u in (
        User("1001", "alice", "alice-password", "Alice Example", "alice@example.com"),
        User("1002", "bob", "bob-password", "Bob Example", "bob@example.com"),
        User("1003", "xss", "xss-password", "<script>alert(1)</script>", "xss@example.com"),
        User("1004", "mallory", "mallory-password", "Mallory Example", "mallory@example.com"),
    )
}
USERS_BY_ID = {u.id: u for u in USERS.values()}


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    auth_method: str
    redirect_uri: str
    # Secrets still accepted during a rotation (a provider that lets an app hold two secrets at once).
    also_accept: list = field(default_factory=list)

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uri

    def get_allowed_scope(self, scope):
        if not scope:
            return DEFAULT_SCOPE
        # Unsupported scopes were already rejected by the server's
        # scopes_supported check; keep the requested order.
        return list_to_scope([s for s in scope_to_list(scope) if s in ALLOWED_SCOPES])

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri == self.redirect_uri  # exact match

    def check_client_secret(self, client_secret):
        ok = secrets.compare_digest(self.client_secret, client_secret)
        for other in self.also_accept:
            ok = secrets.compare_digest(other, client_secret) or ok
        if ok:
            STORE.bump("token_client_auth_" + self.client_id + "_" + hashlib.sha256(client_secret.encode()).hexdigest()[:8])
        return ok

    def check_endpoint_auth_method(self, method, endpoint):
        # The client must use its registered method at both the token and
        # the revocation endpoint.
        return method == self.auth_method

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    user_id: str
    redirect_uri: str | None
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    issued_at: float = field(default_factory=time.time)

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def is_expired(self):
        return time.time() >= self.issued_at + AUTHORIZATION_CODE_TTL


@dataclass
class Token(TokenMixin):
    client_id: str
    user_id: str
    access_token: str
    refresh_token: str | None
    scope: str
    expires_in: int
    token_type: str = "Bearer"
    issued_at: float = field(default_factory=time.time)
    access_token_revoked: bool = False
    refresh_token_revoked: bool = False
    force_expired: bool = False

    def check_client(self, client):
        return self.client_id == client.get_client_id()

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return self.force_expired or time.time() >= self.issued_at + self.expires_in

    def is_revoked(self):
        return self.access_token_revoked

    def get_user(self):
        return USERS_BY_ID.get(self.user_id)

    def get_client(self):
        return STORE.clients.get(self.client_id)


class Store:
    """All mutable state, guarded by one re-entrant lock."""

    def __init__(self):
        self.lock = threading.RLock()
        # Serialises token-endpoint grant processing so that concurrent
        # reuse of one authorization code or refresh token can succeed at
        # most once.
        self.grant_lock = threading.Lock()
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.by_access: dict[str, Token] = {}
        self.by_refresh: dict[str, Token] = {}
        self.issued: list[dict] = []
        self.items: dict[str, list[dict]] = {}
        self.next_item_id = 100
        self.stats = self._zero_stats()
        self.modes = {"token": self._normal(), "userinfo": self._normal(), "api": self._normal()}
        self.api_log: list[dict] = []
        # Rate-limit headers the provider API sends: {"remaining": N, "reset_in": seconds} or None.
        self.rate_limit: dict | None = None

    @staticmethod
    def _zero_stats():
        return {
            "authorization_code_grants": 0,
            "refresh_grants": 0,
            "failed_token_requests": 0,
            "token_requests": 0,
            "revocations": 0,
            "revoked_tokens": 0,
            "userinfo_calls": 0,
            "api_calls": 0,
            "authorizations_approved": 0,
            "authorizations_denied": 0,
            "logins": 0,
            "failed_logins": 0,
        }

    @staticmethod
    def _normal():
        return {"mode": "normal", "seconds": 0.0, "until": None, "count": None}

    def bump(self, key, n=1):
        with self.lock:
            self.stats[key] = self.stats.get(key, 0) + n

    def mode(self, endpoint, consume=False):
        """The mode in force; with ``consume``, one use of a mode limited by ``count`` is spent."""
        with self.lock:
            m = self.modes[endpoint]
            if m["until"] is not None and time.time() >= m["until"]:
                m = self.modes[endpoint] = self._normal()
            if m.get("count") is not None:
                if m["count"] <= 0:
                    m = self.modes[endpoint] = self._normal()
                elif consume:
                    m["count"] -= 1
            return dict(m)

    def set_mode(self, endpoint, mode, seconds, for_seconds, count=None):
        with self.lock:
            self.modes[endpoint] = {
                "mode": mode,
                "seconds": float(seconds or 0),
                "until": (time.time() + float(for_seconds)) if for_seconds else None,
                "count": int(count) if count is not None else None,
            }

    def reset(self):
        with self.lock:
            self.stats = self._zero_stats()
            self.modes = {"token": self._normal(), "userinfo": self._normal(), "api": self._normal()}
            self.api_log = []
            self.rate_limit = None

    def items_for(self, user):
        with self.lock:
            if user.id not in self.items:
                self.items[user.id] = [
                    {"id": 1, "name": f"{user.login}-first", "owner": user.login},
                    {"id": 2, "name": f"{user.login}-second", "owner": user.login},
                ]
            return self.items[user.id]


STORE = Store()


# --------------------------------------------------------------------------
# Authlib wiring
# --------------------------------------------------------------------------


class S256RequiredCodeChallenge(CodeChallenge):
    """Authlib's PKCE extension, made mandatory for every client and S256-only.

    Authlib's ``required=True`` only forces PKCE on public clients; this
    peer models a provider that demands S256 PKCE from confidential clients
    too. Once every code carries a challenge, Authlib itself rejects token
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
        item = AuthorizationCode(
            code=code,
            client_id=req.client.get_client_id(),
            user_id=req.user.id,
            redirect_uri=req.payload.redirect_uri,
            scope=req.scope,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
        )
        with STORE.lock:
            STORE.codes[code] = item

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
        return USERS_BY_ID.get(authorization_code.user_id)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation

    def authenticate_refresh_token(self, refresh_token):
        with STORE.lock:
            token = STORE.by_refresh.get(refresh_token)
            if token and not token.refresh_token_revoked:
                return token
        return None

    def authenticate_user(self, refresh_token):
        return USERS_BY_ID.get(refresh_token.user_id)

    def revoke_old_credential(self, refresh_token):
        with STORE.lock:
            refresh_token.refresh_token_revoked = True


class PeerRevocationEndpoint(RevocationEndpoint):
    CLIENT_AUTH_METHODS = list(AUTH_METHODS)

    def query_token(self, token_string, token_type_hint):
        with STORE.lock:
            if token_type_hint == "refresh_token":
                return STORE.by_refresh.get(token_string) or STORE.by_access.get(token_string)
            return STORE.by_access.get(token_string) or STORE.by_refresh.get(token_string)

    def revoke_token(self, token, req):
        token_string = req.form.get("token")
        with STORE.lock:
            # Revoking an access token kills that access token; revoking a
            # refresh token kills the refresh token and its access token.
            token.access_token_revoked = True
            if token_string == token.refresh_token:
                token.refresh_token_revoked = True
            STORE.stats["revoked_tokens"] += 1


class IntrospectedToken:
    """One token string as introspection sees it: an access token, or the refresh token of a grant."""

    def __init__(self, kind, token):
        self.kind, self.token = kind, token

    def is_expired(self):
        return self.kind == "access_token" and self.token.is_expired()

    def is_revoked(self):
        return self.token.access_token_revoked if self.kind == "access_token" else self.token.refresh_token_revoked


class PeerIntrospectionEndpoint(IntrospectionEndpoint):
    """RFC 7662: is this token still good? Any registered client may ask (tests ask with Latchkey's own)."""

    CLIENT_AUTH_METHODS = list(AUTH_METHODS)

    def query_token(self, token_string, token_type_hint):
        with STORE.lock:
            token = STORE.by_access.get(token_string)
            if token is not None:
                return IntrospectedToken("access_token", token)
            token = STORE.by_refresh.get(token_string)
            return IntrospectedToken("refresh_token", token) if token is not None else None

    def introspect_token(self, found):
        token = found.token
        user = USERS_BY_ID.get(token.user_id)
        answer = {"active": True, "client_id": token.client_id, "token_type": found.kind, "scope": token.scope,
                  "sub": token.user_id, "username": user.login if user else None}
        if found.kind == "access_token":
            answer["exp"] = int(token.issued_at + token.expires_in)
        return answer

    def check_permission(self, token, client, request):
        return True


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
        user_id=req.user.id,
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token"),
        scope=token.get("scope", ""),
        expires_in=int(token.get("expires_in", 0)),
    )
    grant_type = req.payload.grant_type
    with STORE.lock:
        STORE.by_access[item.access_token] = item
        STORE.issued.append(
            {"type": "access_token", "value": item.access_token, "grant_type": grant_type,
             "client_id": item.client_id, "user": req.user.login}
        )
        if item.refresh_token:
            STORE.by_refresh[item.refresh_token] = item
            STORE.issued.append(
                {"type": "refresh_token", "value": item.refresh_token, "grant_type": grant_type,
                 "client_id": item.client_id, "user": req.user.login}
            )
        if grant_type == "authorization_code":
            STORE.stats["authorization_code_grants"] += 1
        elif grant_type == "refresh_token":
            STORE.stats["refresh_grants"] += 1


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{{ title }} - OAuth Test Peer</title></head>
<body>
<h1 id="page-title">{{ title }}</h1>
{% if error %}<p id="login-error" role="alert">{{ error }}</p>{% endif %}
{% if kind == "login" %}
<form id="login-form" method="post" action="{{ url_prefix }}/login">
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
    ctx.setdefault("url_prefix", "")
    body = render_template_string(PAGE, **ctx)  # autoescaped
    return Response(body, status=status, mimetype="text/html")


# --------------------------------------------------------------------------
# App
# --------------------------------------------------------------------------


def _huge_json(kind):
    """~11 MB of syntactically valid, token/userinfo-looking JSON."""
    chunk = "x" * 1024
    padding = [chunk] * (HUGE_TARGET_BYTES // (len(chunk) + 3) + 1)
    if kind == "token":
        doc = {"access_token": "huge-" + generate_token(40), "token_type": "Bearer",
               "expires_in": 3600, "refresh_token": "huge-" + generate_token(40),
               "scope": DEFAULT_SCOPE, "padding": padding}
    else:
        doc = {"sub": "huge", "login": "huge", "name": "Huge", "email": "huge@example.com",
               "padding": padding}
    return json.dumps(doc).encode()


def injected_response(endpoint):
    """Apply the /_control mode for ``endpoint``; return a Response to short-
    circuit with, or None to continue normally (after an optional delay)."""
    m = STORE.mode(endpoint, consume=True)
    mode = m["mode"]
    if mode == "normal":
        return None
    if mode == "slow":
        time.sleep(m["seconds"])
        return None
    if mode == "invalid_grant":
        return Response(json.dumps({"error": "invalid_grant",
                                    "error_description": "injected by test control"}),
                        status=400, mimetype="application/json",
                        headers={"Cache-Control": "no-store"})
    if mode == "invalid_token":
        return Response(json.dumps({"error": "invalid_token"}), status=401,
                        mimetype="application/json",
                        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if mode == "unavailable":
        return Response("Service Unavailable", status=503, mimetype="text/plain")
    if mode == "hang":
        # Waits, then fails without doing anything: a request the provider never got to.
        time.sleep(m["seconds"])
        return Response("Service Unavailable", status=503, mimetype="text/plain")
    if mode == "html":
        return Response("<html>oops</html>", status=200, mimetype="text/html")
    if mode == "huge":
        return Response(_huge_json(endpoint), status=200, mimetype="application/json")
    raise AssertionError(mode)


def create_app(issuer, access_token_ttl, port):
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        # Cookies are not port-isolated: give each peer its own cookie name.
        SESSION_COOKIE_NAME=f"oauth_peer_session_{port}",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        OAUTH2_REFRESH_TOKEN_GENERATOR=True,
        OAUTH2_TOKEN_EXPIRES_IN={
            "authorization_code": access_token_ttl,
            "refresh_token": access_token_ttl,
        },
        OAUTH2_SCOPES_SUPPORTED=ALLOWED_SCOPES,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )

    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(AuthorizationCodeGrant, [S256RequiredCodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(PeerRevocationEndpoint)
    server.register_endpoint(PeerIntrospectionEndpoint)

    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(PeerBearerTokenValidator())

    def current_user():
        uid = session.get("user_id")
        return USERS_BY_ID.get(uid) if uid else None

    def csrf_token():
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(24)
        return session["csrf"]

    def bearer_user():
        """Validate the bearer token with Authlib's ResourceProtector."""
        try:
            token = require_oauth.acquire_token()
        except OAuth2Error as error:
            require_oauth.raise_error_response(error)  # raises 401/403
        return token, USERS_BY_ID[token.user_id]

    def log_api_call():
        """The upstream's access log: every request that reached the provider API, authorized or not."""
        STORE.bump("api_calls")
        with STORE.lock:
            STORE.api_log.append({"at": time.time(), "method": request.method, "path": request.full_path.rstrip("?"),
                                  "authorization": request.headers.get("Authorization", "")[:7]})

    # ---------------- authorization endpoint ----------------

    def oauth_error_page(error):
        if getattr(error, "redirect_uri", None):
            return server.handle_error_response(None, error)  # 302 back to client
        return page(status=error.status_code, kind="error", title="Authorization error",
                    error_code=error.error, description=error.get_error_description())

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize():
        user = current_user()
        try:
            grant = server.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            return oauth_error_page(error)

        if user is None:
            return page(status=200 if request.method == "GET" else 401,
                        kind="login", title="Sign in", next=request.full_path)

        if request.method == "GET":
            return page(kind="consent", title="Authorize application", user=user,
                        client_id=grant.client.get_client_id(),
                        scopes=scope_to_list(grant.request.scope) or [],
                        action=request.full_path, csrf_token=csrf_token())

        sent = request.form.get("csrf_token", "")
        if not secrets.compare_digest(sent, session.get("csrf", "")) or not sent:
            return page(status=400, kind="error", title="Authorization error",
                        error_code="csrf", description="Missing or invalid CSRF token.")
        approved = request.form.get("decision") == "approve"
        STORE.bump("authorizations_approved" if approved else "authorizations_denied")
        return server.create_authorization_response(grant=grant,
                                                    grant_user=user if approved else None)

    @app.route("/login", methods=["GET", "POST"])
    def login():
        nxt = request.values.get("next") or "/"
        if not nxt.startswith("/") or nxt.startswith("//"):
            nxt = "/"
        if request.method == "GET":
            return page(kind="login", title="Sign in", next=nxt)
        username = request.form.get("username", "")
        password = request.form.get("password", "")
        user = USERS.get(username)
        if user is None or not secrets.compare_digest(user.password, password):
            STORE.bump("failed_logins")
            return page(status=401, kind="login", title="Sign in", next=nxt,
                        error="Invalid username or password.")
        session.clear()
        session["user_id"] = user.id
        session["csrf"] = secrets.token_urlsafe(24)
        STORE.bump("logins")
        return redirect(nxt, code=303)

    @app.route("/logout", methods=["GET", "POST"])
    def logout():
        session.clear()
        return page(kind="message", title="Signed out", message="You are signed out.")

    # ---------------- token / revocation ----------------

    @app.post("/token")
    def issue_token():
        STORE.bump("token_requests")
        injected = injected_response("token")
        if injected is not None:
            if injected.status_code >= 400:
                STORE.bump("failed_token_requests")
            return injected
        with STORE.grant_lock:
            resp = server.create_token_response()
        if resp.status_code >= 400:
            STORE.bump("failed_token_requests")
        return resp

    @app.post("/introspect")
    def introspect():
        return server.create_endpoint_response(PeerIntrospectionEndpoint.ENDPOINT_NAME)

    @app.post("/revoke")
    def revoke():
        resp = server.create_endpoint_response(PeerRevocationEndpoint.ENDPOINT_NAME)
        if resp.status_code == 200:
            STORE.bump("revocations")
        return resp

    # ---------------- resource endpoints ----------------

    @app.get("/userinfo")
    def userinfo():
        STORE.bump("userinfo_calls")
        injected = injected_response("userinfo")
        if injected is not None:
            return injected
        _token, user = bearer_user()
        return jsonify(sub=user.id, login=user.login, name=user.name, email=user.email)

    @app.route("/api/echo", defaults={"sub": ""},
               methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    @app.route("/api/echo/<path:sub>",
               methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    def echo(sub):
        log_api_call()
        injected = injected_response("api")
        if injected is not None:
            return injected
        token, user = bearer_user()
        response = jsonify(
            user=user.login,
            method=request.method,
            path=request.path,
            query=request.query_string.decode("utf-8", "replace"),
            args={k: request.args.getlist(k) for k in request.args},
            # The credential itself is never echoed back: a reflecting API would otherwise hand it to the agent.
            headers={k.lower(): (v.split(" ", 1)[0] + " <redacted>" if k.lower() == "authorization" else v)
                     for k, v in request.headers.items()},
            body=request.get_data(as_text=True),
            scope=token.scope,
        )
        response.headers["Set-Cookie"] = "upstream_session=1; Path=/"
        response.headers["X-Upstream"] = "echo"
        return response

    @app.route("/api/upload", methods=["POST", "PUT"])
    def upload():
        """Reads the body as a stream and answers its size and SHA-256 (for streamed uploads)."""
        log_api_call()
        injected = injected_response("api")
        if injected is not None:
            request.stream.read()
            return injected
        _token, user = bearer_user()
        digest = hashlib.sha256()
        size = 0
        while chunk := request.stream.read(65536):
            digest.update(chunk)
            size += len(chunk)
        return jsonify(user=user.login, bytes=size, sha256=digest.hexdigest(),
                       chunked=request.headers.get("Transfer-Encoding", "").lower() == "chunked",
                       content_length=request.headers.get("Content-Length"))

    @app.get("/api/drip")
    def drip():
        """A streamed answer: `chunks` lines, one every `ms` milliseconds."""
        log_api_call()
        bearer_user()
        chunks = int(request.args.get("chunks", "3"))
        pause = int(request.args.get("ms", "100")) / 1000

        def lines():
            for i in range(chunks):
                time.sleep(pause)
                yield f"line-{i}\n"
        return Response(lines(), mimetype="text/plain")

    @app.route("/api/items", methods=["GET", "POST"])
    def items():
        log_api_call()
        injected = injected_response("api")
        if injected is not None:
            return injected
        _token, user = bearer_user()
        if request.method == "GET":
            with STORE.lock:
                return jsonify(list(STORE.items_for(user)))
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
            return jsonify(error="invalid_body", message='expected JSON {"name": "..."}'), 400
        with STORE.lock:
            item = {"id": STORE.next_item_id, "name": payload["name"], "owner": user.login}
            STORE.next_item_id += 1
            STORE.items_for(user).append(item)
        return jsonify(item), 201

    # ---------------- discovery ----------------

    @app.get("/.well-known/oauth-authorization-server")
    def metadata():
        base = issuer.rstrip("/")
        return jsonify(
            issuer=issuer,
            authorization_endpoint=f"{base}/authorize",
            token_endpoint=f"{base}/token",
            revocation_endpoint=f"{base}/revoke",
            introspection_endpoint=f"{base}/introspect",
            userinfo_endpoint=f"{base}/userinfo",
            scopes_supported=ALLOWED_SCOPES,
            response_types_supported=["code"],
            grant_types_supported=["authorization_code", "refresh_token"],
            token_endpoint_auth_methods_supported=list(AUTH_METHODS),
            revocation_endpoint_auth_methods_supported=list(AUTH_METHODS),
            code_challenge_methods_supported=["S256"],
        )

    @app.get("/")
    def index():
        return page(kind="message", title="OAuth Test Peer", message="Latchkey interop OAuth peer.")

    # ---------------- test control (loopback, unauthenticated) ----------------

    @app.get("/_control/stats")
    def control_stats():
        with STORE.lock:
            return jsonify(dict(STORE.stats))

    @app.get("/_control/issued")
    def control_issued():
        with STORE.lock:
            if request.args.get("detail"):
                return jsonify(list(STORE.issued))
            return jsonify([entry["value"] for entry in STORE.issued])

    @app.post("/_control/mode")
    def control_mode():
        body = request.get_json(silent=True) or {}
        endpoints = [e for e in ("token", "userinfo", "api") if e in body]
        if not endpoints:
            return jsonify(error='expected {"token": MODE}, {"userinfo": MODE} and/or {"api": MODE}'), 400
        for e in endpoints:
            if body[e] not in MODES:
                return jsonify(error=f"unknown mode {body[e]!r}", modes=list(MODES)), 400
        for e in endpoints:
            STORE.set_mode(e, body[e], body.get("seconds", 0), body.get("for_seconds"), body.get("count"))
        return jsonify(token=STORE.mode("token"), userinfo=STORE.mode("userinfo"), api=STORE.mode("api"))

    @app.after_request
    def add_rate_limit_headers(response):
        with STORE.lock:
            limit = dict(STORE.rate_limit) if STORE.rate_limit else None
        if limit is not None and request.path.startswith("/api/"):
            response.headers["X-RateLimit-Remaining"] = str(limit["remaining"])
            response.headers["X-RateLimit-Reset"] = str(int(limit["reset_at"]))
        return response

    @app.post("/_control/ratelimit")
    def control_rate_limit():
        """{"remaining": N, "reset_in": seconds} makes /api answers carry rate-limit headers; {} stops them."""
        body = request.get_json(silent=True) or {}
        with STORE.lock:
            if "remaining" in body:
                STORE.rate_limit = {"remaining": int(body["remaining"]),
                                    "reset_at": time.time() + float(body.get("reset_in", 60))}
            else:
                STORE.rate_limit = None
            return jsonify(rate_limit=STORE.rate_limit)

    @app.get("/_control/api_log")
    def control_api_log():
        with STORE.lock:
            return jsonify(list(STORE.api_log))

    @app.get("/_control/mode")
    def control_mode_get():
        return jsonify(token=STORE.mode("token"), userinfo=STORE.mode("userinfo"))

    @app.post("/_control/reset")
    def control_reset():
        STORE.reset()
        return jsonify(ok=True)

    @app.post("/_control/clients")
    def control_add_client():
        body = request.get_json(silent=True) or {}
        try:
            client = make_client(body["client_id"], body["client_secret"],
                                 body["auth_method"], body["redirect_uri"])
            client.also_accept = list(body.get("also_accept") or [])
        except (KeyError, ValueError) as exc:
            return jsonify(error=str(exc)), 400
        with STORE.lock:
            STORE.clients[client.client_id] = client
        return jsonify(ok=True), 201

    @app.post("/_control/expire_access_tokens")
    def control_expire():
        """Force-expire access tokens (all, or those listed in {"tokens": [...]})."""
        body = request.get_json(silent=True) or {}
        wanted = body.get("tokens")
        n = 0
        with STORE.lock:
            for value, tok in STORE.by_access.items():
                if wanted is None or value in wanted:
                    tok.force_expired = True
                    n += 1
        return jsonify(expired=n)

    return app


def make_client(client_id, client_secret, auth_method, redirect_uri):
    if auth_method not in AUTH_METHODS:
        raise ValueError(f"auth method must be one of {AUTH_METHODS}, got {auth_method!r}")
    if not client_id or not client_secret or not redirect_uri:
        raise ValueError("client id, secret and redirect URI must be non-empty")
    if urlsplit(redirect_uri).scheme not in ("http", "https") and ":" not in redirect_uri:
        raise ValueError(f"redirect URI looks invalid: {redirect_uri!r}")
    return Client(client_id, client_secret, auth_method, redirect_uri)


def parse_client(spec):
    parts = spec.split(":", 3)
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(
            f"--client must be ID:SECRET:AUTHMETHOD:REDIRECT_URI, got {spec!r}")
    try:
        return make_client(*parts)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


class PeerWSGIServer(ThreadedWSGIServer):
    request_queue_size = 1024  # tests burst hundreds of concurrent connections


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--access-token-ttl", type=positive_int, default=3600)
    parser.add_argument("--issuer", default=None,
                        help="default http://HOST:PORT (used in discovery metadata)")
    parser.add_argument("--client", dest="clients", action="append", type=parse_client,
                        default=[], metavar="ID:SECRET:AUTHMETHOD:REDIRECT_URI")
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
    holder["app"] = create_app(issuer, args.access_token_ttl, port)

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
