#!/usr/bin/env python3
"""A real OAuth 2.0 authorization server for Latchkey's interop tests.

The OAuth protocol itself is implemented by Authlib (authorization code grant,
refresh token grant, PKCE, RFC 7009 revocation, bearer-token resource
protection); this module only supplies in-memory storage, a tiny login/consent
UI, a stand-in provider API and some loopback-only test-control endpoints.
What it shares with the OpenID Connect peer (oidc_server.py) lives next to
it in authlib_common.py, flask_pages.py and serving.py.

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
import os
import secrets
import sys
import time
from dataclasses import dataclass
from dataclasses import field

# Authlib refuses plain-http request URLs unless they are loopback; the peer
# is loopback-only, but allow any host name that resolves to it (e.g. an
# /etc/hosts alias) so the failure mode is never "insecure_transport".
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.flask_oauth2 import AuthorizationServer  # noqa: E402
from authlib.integrations.flask_oauth2 import ResourceProtector  # noqa: E402
from authlib.oauth2 import OAuth2Error  # noqa: E402
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin  # noqa: E402
from authlib.oauth2.rfc6749 import grants  # noqa: E402
from authlib.oauth2.rfc7009 import RevocationEndpoint  # noqa: E402
from authlib.oauth2.rfc7662 import IntrospectionEndpoint  # noqa: E402
from flask import Response  # noqa: E402
from flask import jsonify  # noqa: E402
from flask import request  # noqa: E402
from flask import session  # noqa: E402

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

ALLOWED_SCOPES = ["profile", "email", "repo", "write", "offline_access"]
DEFAULT_SCOPE = "profile"
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


USERS = by_login(
    User("1001", "alice", "alice-password", "Alice Example", "alice@example.com"),
    User("1002", "bob", "bob-password", "Bob Example", "bob@example.com"),
    User("1003", "xss", "xss-password", "<script>alert(1)</script>", "xss@example.com"),
    User("1004", "mallory", "mallory-password", "Mallory Example", "mallory@example.com"),
)
USERS_BY_ID = {u.id: u for u in USERS.values()}


@dataclass
class Client(RegisteredClient, allowed_scopes=ALLOWED_SCOPES, default_scope=DEFAULT_SCOPE):
    auth_method: str
    redirect_uri: str
    # Secrets still accepted during a rotation (a provider that lets an app hold two secrets at once).
    also_accept: list = field(default_factory=list)

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

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


class AuthorizationCode(StoredCode, AuthorizationCodeMixin):
    pass


class Store(PeerStore):
    """All mutable state, guarded by one re-entrant lock."""

    def __init__(self):
        super().__init__()
        self.by_refresh: dict[str, Token] = {}
        self.issued: list[dict] = []
        self.items: dict[str, list[dict]] = {}
        self.next_item_id = 100
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


@dataclass(kw_only=True)
class Token(StoredToken):
    store = STORE
    users_by_id = USERS_BY_ID

    refresh_token: str | None
    access_token_revoked: bool = False
    refresh_token_revoked: bool = False
    force_expired: bool = False

    def is_expired(self):
        return self.force_expired or super().is_expired()

    def is_revoked(self):
        return self.access_token_revoked


# --------------------------------------------------------------------------
# Authlib wiring
# --------------------------------------------------------------------------


class AuthorizationCodeGrant(StoredCodeGrant):
    store = STORE
    users_by_id = USERS_BY_ID

    def save_authorization_code(self, code, req):
        item = AuthorizationCode(**self.code_fields(code, req))
        with STORE.lock:
            STORE.codes[code] = item


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


def save_token(token, req):
    item = Token(**Token.issued_fields(token, req), refresh_token=token.get("refresh_token"))
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

PAGES = Pages("OAuth Test Peer", "Latchkey interop OAuth peer.")


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
    app = create_flask_app(
        __name__, f"oauth_peer_session_{port}", ALLOWED_SCOPES, 16 * 1024 * 1024,
        OAUTH2_REFRESH_TOKEN_GENERATOR=True,
        OAUTH2_TOKEN_EXPIRES_IN={
            "authorization_code": access_token_ttl,
            "refresh_token": access_token_ttl,
        },
    )

    server = AuthorizationServer(app, query_client=STORE.query_client, save_token=save_token)
    server.register_grant(AuthorizationCodeGrant, [S256RequiredCodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(PeerRevocationEndpoint)
    server.register_endpoint(PeerIntrospectionEndpoint)

    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(StoreBearerTokenValidator(STORE))

    def current_user():
        uid = session.get("user_id")
        return USERS_BY_ID.get(uid) if uid else None

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

    def approve(grant, user):
        STORE.bump("authorizations_approved")
        return server.create_authorization_response(grant=grant, grant_user=user)

    PAGES.add_authorize_route(app, server, current_user, STORE.bump, approve)

    def remember(user, _next):
        session["user_id"] = user.id

    PAGES.add_routes(app, USERS, STORE.bump, remember)

    # ---------------- token / revocation ----------------

    @app.post("/token")
    def issue_token():
        STORE.bump("token_requests")
        injected = injected_response("token")
        if injected is not None:
            if injected.status_code >= 400:
                STORE.bump("failed_token_requests")
            return injected
        return token_response(server, STORE)

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
        if "hop" in request.args:
            # Headers this hop names in `Connection` belong to the connection between the peer and Latchkey.
            response.headers["Connection"] = "X-Hop-Internal, keep-alive"
            response.headers["X-Hop-Internal"] = "peer-internal"
        if "forge" in request.args:
            # A provider that sends Latchkey's own headers, as if to speak for it.
            response.headers["Latchkey-Request-Id"] = "forged"
            response.headers["Latchkey-Connection"] = "conn_forged"
        return response

    @app.get("/api/credential")
    def credential():
        """Which credential the call carried, as the SHA-256 of its bearer value (never the value itself)."""
        log_api_call()
        injected = injected_response("api")
        if injected is not None:
            return injected
        _token, user = bearer_user()
        bearer = request.headers.get("Authorization", "").split(" ", 1)[-1]
        return jsonify(user=user.login, credential_sha256=hashlib.sha256(bearer.encode()).hexdigest())

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
        return jsonify(provider_metadata(
            issuer, ALLOWED_SCOPES,
            revocation_endpoint=f"{base}/revoke",
            introspection_endpoint=f"{base}/introspect",
            grant_types_supported=["authorization_code", "refresh_token"],
            revocation_endpoint_auth_methods_supported=list(AUTH_METHODS),
        ))

    # ---------------- test control (loopback, unauthenticated) ----------------

    add_control_routes(app, STORE, client_from_json)

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
    check_registration(client_id, client_secret, redirect_uri, auth_method)
    return Client(client_id, client_secret, auth_method, redirect_uri)


def client_from_json(body):
    """A client for /_control/clients; ``also_accept`` lists further secrets it accepts."""
    client = make_client(body["client_id"], body["client_secret"], body["auth_method"], body["redirect_uri"])
    client.also_accept = list(body.get("also_accept") or [])
    return client


def parse_client(spec):
    parts = spec.split(":", 3)
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(
            f"--client must be ID:SECRET:AUTHMETHOD:REDIRECT_URI, got {spec!r}")
    return client_argument(make_client, *parts)


def main(argv=None):
    parser = argument_parser(__doc__)
    parser.add_argument("--access-token-ttl", type=positive_int, default=3600)
    parser.add_argument("--issuer", default=None,
                        help="default http://HOST:PORT (used in discovery metadata)")
    add_client_arguments(parser, parse_client, "ID:SECRET:AUTHMETHOD:REDIRECT_URI")
    args = parser.parse_args(argv)
    return serve(args, STORE, lambda issuer, port: create_app(issuer, args.access_token_ttl, port))


if __name__ == "__main__":
    sys.exit(main())
