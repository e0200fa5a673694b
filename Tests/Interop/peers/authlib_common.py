"""In-memory models, storage and Authlib wiring that the OAuth and OpenID Connect peer servers share.

Each server subclasses these with its own users, scopes, token fields and counters; what is here is the plumbing
Authlib calls back into: a confidential client with one exact redirect URI, the stored authorization code and
access token, a lock-guarded store, the S256-only PKCE extension, the code grant's look-ups, the bearer-token
validator and the token endpoint's serialised grant processing.

Imported by the server scripts, which run with this folder first on ``sys.path``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from dataclasses import field
from typing import ClassVar
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749 import TokenMixin
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.util import list_to_scope
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge

AUTH_METHODS = ("client_secret_basic", "client_secret_post")
AUTHORIZATION_CODE_TTL = 600


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------


def check_registration(client_id, client_secret, redirect_uri, auth_method, any_method_if_none=False):
    """Raise ValueError unless this is a usable client registration (``auth_method`` None: any, if allowed)."""
    if not (any_method_if_none and auth_method is None) and auth_method not in AUTH_METHODS:
        raise ValueError(f"auth method must be one of {AUTH_METHODS}, got {auth_method!r}")
    if not client_id or not client_secret or not redirect_uri:
        raise ValueError("client id, secret and redirect URI must be non-empty")
    if urlsplit(redirect_uri).scheme not in ("http", "https") and ":" not in redirect_uri:
        raise ValueError(f"redirect URI looks invalid: {redirect_uri!r}")


def by_login(*users) -> dict:
    """The users by their ``login`` (what the sign-in form asks for)."""
    return {u.login: u for u in users}


@dataclass
class RegisteredClient(ClientMixin):
    """A confidential client with one exact ``redirect_uri`` that asks for the code response type.

    A server's client dataclass derives from it, adds ``redirect_uri`` and its other fields, and names the
    scopes it allows: ``class Client(RegisteredClient, allowed_scopes=[...], default_scope="..."):``.
    """

    ALLOWED_SCOPES: ClassVar[list[str]] = []
    DEFAULT_SCOPE: ClassVar[str] = ""

    client_id: str
    client_secret: str

    def __init_subclass__(cls, allowed_scopes=None, default_scope=None, **kwargs):
        super().__init_subclass__(**kwargs)
        if allowed_scopes is not None:
            cls.ALLOWED_SCOPES = allowed_scopes
        if default_scope is not None:
            cls.DEFAULT_SCOPE = default_scope

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uri

    def get_allowed_scope(self, scope):
        if not scope:
            return self.DEFAULT_SCOPE
        # Unsupported scopes were already rejected by the server's
        # scopes_supported check; keep the requested order.
        return list_to_scope([s for s in scope_to_list(scope) if s in self.ALLOWED_SCOPES])

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri == self.redirect_uri  # exact match

    def check_response_type(self, response_type):
        return response_type == "code"


@dataclass(kw_only=True)
class StoredCode:
    """An authorization code as the peers keep it (put before Authlib's AuthorizationCodeMixin in the bases)."""

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


@dataclass(kw_only=True)
class StoredToken(TokenMixin):
    """An issued access token; a server's subclass sets ``store`` and ``users_by_id`` (whose keys are user ids)."""

    store: ClassVar[PeerStore]
    users_by_id: ClassVar[dict]

    client_id: str
    user_id: str
    access_token: str
    scope: str
    expires_in: int
    token_type: str = "Bearer"
    issued_at: float = field(default_factory=time.time)

    @staticmethod
    def issued_fields(token, req) -> dict:
        """The fields every peer records for a token Authlib just issued (``save_token``'s arguments)."""
        return dict(
            client_id=req.client.get_client_id(),
            user_id=req.user.get_user_id(),
            access_token=token["access_token"],
            scope=token.get("scope", ""),
            expires_in=int(token.get("expires_in", 0)),
        )

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
        return self.users_by_id.get(self.user_id)

    def get_client(self):
        return self.store.clients.get(self.client_id)


class PeerStore:
    """All mutable state, guarded by one re-entrant lock; a server's subclass adds its own state and counters."""

    def __init__(self):
        self.lock = threading.RLock()
        # Serialises token-endpoint grant processing so that concurrent
        # reuse of one authorization code (or refresh token) can succeed at
        # most once.
        self.grant_lock = threading.Lock()
        self.clients: dict = {}
        self.codes: dict = {}
        self.by_access: dict = {}
        self.stats = self._zero_stats()

    @staticmethod
    def _zero_stats() -> dict:
        return {}

    def bump(self, key, n=1):
        with self.lock:
            self.stats[key] = self.stats.get(key, 0) + n

    def query_client(self, client_id):
        with self.lock:
            return self.clients.get(client_id)


# --------------------------------------------------------------------------
# Authlib wiring
# --------------------------------------------------------------------------


class S256RequiredCodeChallenge(CodeChallenge):
    """Authlib's PKCE extension, made mandatory for every client and S256-only.

    Authlib's ``required=True`` only forces PKCE on public clients; the
    peers model providers that demand S256 PKCE from confidential clients
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


class StoredCodeGrant(grants.AuthorizationCodeGrant):
    """The authorization code grant over a PeerStore; a server's subclass sets ``store`` and ``users_by_id``
    and saves its codes (``code_fields`` gives the fields every peer records)."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)
    store: PeerStore
    users_by_id: dict

    @staticmethod
    def code_fields(code, req) -> dict:
        data = req.payload.data
        return dict(
            code=code,
            client_id=req.client.get_client_id(),
            user_id=req.user.get_user_id(),
            redirect_uri=req.payload.redirect_uri,
            scope=req.scope,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
        )

    def query_authorization_code(self, code, client):
        with self.store.lock:
            item = self.store.codes.get(code)
        if item and item.client_id == client.get_client_id() and not item.is_expired():
            return item
        return None

    def delete_authorization_code(self, authorization_code):
        with self.store.lock:
            self.store.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code):
        return self.users_by_id.get(authorization_code.user_id)


class StoreBearerTokenValidator(BearerTokenValidator):
    """Bearer tokens are the access tokens in the store."""

    def __init__(self, store: PeerStore, realm=None, **extra_attributes):
        super().__init__(realm, **extra_attributes)
        self.store = store

    def authenticate_token(self, token_string):
        with self.store.lock:
            return self.store.by_access.get(token_string)


def provider_metadata(issuer, scopes, **more) -> dict:
    """The discovery fields both peers publish (RFC 8414, OpenID Connect Discovery), and ``more``."""
    base = issuer.rstrip("/")
    return dict(
        issuer=issuer,
        authorization_endpoint=f"{base}/authorize",
        token_endpoint=f"{base}/token",
        userinfo_endpoint=f"{base}/userinfo",
        scopes_supported=scopes,
        response_types_supported=["code"],
        token_endpoint_auth_methods_supported=list(AUTH_METHODS),
        code_challenge_methods_supported=["S256"],
        **more,
    )


def token_response(server, store: PeerStore):
    """The token endpoint's answer: one grant at a time; a failure is counted in ``failed_token_requests``."""
    with store.grant_lock:
        resp = server.create_token_response()
    if resp.status_code >= 400:
        store.bump("failed_token_requests")
    return resp
