"""The web front that the OAuth and OpenID Connect peer servers share.

One HTML template for the sign-in, consent, error and message pages (its element ids and form field names are
what the tests and the Selenium helpers drive: ``login-form``, ``username``, ``password``, ``login``,
``login-error``, ``consent-form``, ``csrf_token``, ``decision``, ``approve``, ``deny``, ``error`` ...), the
session's CSRF token, the /, /login, /logout and /authorize routes, the control endpoints both peers have and the
Flask app's common settings.

Imported by the server scripts, which run with this folder first on ``sys.path``.
"""

from __future__ import annotations

import secrets

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.util import scope_to_list
from flask import Flask
from flask import Response
from flask import jsonify
from flask import redirect
from flask import render_template_string
from flask import request
from flask import session

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{{ title }} - {{ peer_name }}</title></head>
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


def create_flask_app(import_name, cookie_name, scopes, max_content_length, **config) -> Flask:
    """A Flask app with a fresh secret key, a session cookie of its own and Authlib's supported scopes."""
    app = Flask(import_name)
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        # Cookies are not port-isolated: give each peer its own cookie name.
        SESSION_COOKIE_NAME=cookie_name,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        OAUTH2_SCOPES_SUPPORTED=scopes,
        MAX_CONTENT_LENGTH=max_content_length,
        **config,
    )
    return app


def csrf_token() -> str:
    """The session's CSRF token for the consent form (made on first use; a sign-in makes a new one)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def safe_next(value) -> str:
    """Where to go after signing in: a path on this peer, never another site."""
    nxt = value or "/"
    if not nxt.startswith("/") or nxt.startswith("//"):
        nxt = "/"
    return nxt


class Pages:
    """The pages of one peer (``peer_name`` ends each page title; its home page says ``welcome``) and the
    steps of its sign-in and consent."""

    def __init__(self, peer_name: str, welcome: str):
        self.peer_name = peer_name
        self.welcome = welcome

    def page(self, status=200, **ctx) -> Response:
        ctx.setdefault("error", None)
        body = render_template_string(PAGE, peer_name=self.peer_name, **ctx)  # autoescaped
        return Response(body, status=status, mimetype="text/html")

    def sign_in_first(self) -> Response:
        """/authorize without a signed-in user: the sign-in form, coming back to this very request."""
        return self.page(status=200 if request.method == "GET" else 401,
                         kind="login", title="Sign in", next=request.full_path)

    def consent(self, grant, user) -> Response:
        """The consent form for ``grant``, posting back to this /authorize request with the CSRF token."""
        return self.page(kind="consent", title="Authorize application", user=user,
                         client_id=grant.client.get_client_id(),
                         scopes=scope_to_list(grant.request.scope) or [],
                         action=request.full_path, csrf_token=csrf_token())

    def oauth_error(self, server, error) -> Response:
        """An OAuth error: back to the client when Authlib trusts its redirect URI, else an error page."""
        if getattr(error, "redirect_uri", None):
            return server.handle_error_response(None, error)  # 302 back to the client
        return self.page(status=error.status_code, kind="error", title="Authorization error",
                         error_code=error.error, description=error.get_error_description())

    def csrf_refusal(self) -> Response | None:
        """The error page when the posted consent form lacks the session's CSRF token, else None."""
        sent = request.form.get("csrf_token", "")
        if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
            return self.page(status=400, kind="error", title="Authorization error",
                             error_code="csrf", description="Missing or invalid CSRF token.")
        return None

    def add_authorize_route(self, app: Flask, server, current_user, bump, approve,
                            must_sign_in_again=None, answer_without_consent=None) -> None:
        """/authorize: Authlib checks the request (an error goes back to the client or onto an error page), a
        visitor who is not signed in (``current_user()`` is None) signs in first, a GET shows the consent form and
        posting it (with the session's CSRF token) approves through ``approve(grant, user)`` or denies.

        Optional: ``must_sign_in_again(grant)`` sends a signed-in user to the sign-in form all the same;
        ``answer_without_consent(grant, user)`` may answer a GET instead of the consent form (None: show it).
        ``bump`` counts ``authorizations_denied``.
        """

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize():
            user = current_user()
            try:
                grant = server.get_consent_grant(end_user=user)
            except OAuth2Error as error:
                return self.oauth_error(server, error)

            if user is not None and must_sign_in_again is not None and must_sign_in_again(grant):
                user = None
            if user is None:
                return self.sign_in_first()

            if request.method == "GET":
                answer = answer_without_consent(grant, user) if answer_without_consent is not None else None
                return answer if answer is not None else self.consent(grant, user)

            refusal = self.csrf_refusal()
            if refusal is not None:
                return refusal
            if request.form.get("decision") == "approve":
                return approve(grant, user)
            bump("authorizations_denied")
            return server.create_authorization_response(grant=grant, grant_user=None)

    def add_routes(self, app: Flask, users: dict, bump, remember) -> None:
        """/ (the home page), /login (its form, then a check of ``users[username].password``) and /logout.

        A good password starts a fresh session: ``remember(user, next)`` stores the user in it, then it gets a
        new CSRF token; ``bump`` counts ``logins`` and ``failed_logins``.
        """

        @app.get("/")
        def index():
            return self.page(kind="message", title=self.peer_name, message=self.welcome)

        @app.route("/login", methods=["GET", "POST"])
        def login():
            nxt = safe_next(request.values.get("next"))
            if request.method == "GET":
                return self.page(kind="login", title="Sign in", next=nxt)
            user = users.get(request.form.get("username", ""))
            password = request.form.get("password", "")
            if user is None or not secrets.compare_digest(user.password, password):
                bump("failed_logins")
                return self.page(status=401, kind="login", title="Sign in", next=nxt,
                                 error="Invalid username or password.")
            session.clear()
            remember(user, nxt)
            session["csrf"] = secrets.token_urlsafe(24)
            bump("logins")
            return redirect(nxt, code=303)

        @app.route("/logout", methods=["GET", "POST"])
        def logout():
            session.clear()
            return self.page(kind="message", title="Signed out", message="You are signed out.")


def add_control_routes(app: Flask, store, client_from_json) -> None:
    """The test-control endpoints both peers have (loopback, unauthenticated): /_control/stats, /_control/reset
    and /_control/clients, which adds or replaces ``client_from_json(body)`` (KeyError or ValueError: 400)."""

    @app.get("/_control/stats")
    def control_stats():
        with store.lock:
            return jsonify(dict(store.stats))

    @app.post("/_control/reset")
    def control_reset():
        store.reset()
        return jsonify(ok=True)

    @app.post("/_control/clients")
    def control_add_client():
        body = request.get_json(silent=True) or {}
        try:
            client = client_from_json(body)
        except (KeyError, ValueError) as exc:
            return jsonify(error=str(exc)), 400
        with store.lock:
            store.clients[client.client_id] = client
        return jsonify(ok=True), 201
