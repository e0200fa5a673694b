"""A remote MCP server with its own OAuth, built with the official Python SDK (`mcp` 2.x): the SDK's authorization
server routes (metadata, dynamic registration, authorize, token, revocation) and its protected resource metadata
and bearer check in front of a Streamable HTTP MCP server. Nothing of the authorization server is hand-written but
the in-memory store of clients, codes and tokens that the SDK's provider protocol asks for.

Run as `python3 mcp_auth_server.py --port N`; prints `READY <port>` once it listens on 127.0.0.1. Authorization
is granted at once (the peer plays a person who always consents), so a flow needs no browser."""
from __future__ import annotations

import argparse
import secrets
import socket
import sys
import time

import uvicorn
from pydantic import AnyHttpUrl

from mcp.server.auth.provider import (AccessToken, AuthorizationCode, AuthorizationParams, RefreshToken, TokenError,
                                      construct_redirect_uri)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken


class MemoryProvider:
    """The SDK's `OAuthAuthorizationServerProvider`, in memory."""

    def __init__(self, resource: str, token_ttl: int):
        self.resource = resource
        self.token_ttl = token_ttl
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}

    async def get_client(self, client_id: str):
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull):
        self.clients[client_info.client_id] = client_info

    async def authorize(self, client, params: AuthorizationParams) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = AuthorizationCode(
            code=code, scopes=params.scopes or [], expires_at=time.time() + 300, client_id=client.client_id,
            code_challenge=params.code_challenge, redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly, resource=params.resource,
            subject="alice")
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(self, client, authorization_code: str):
        code = self.codes.get(authorization_code)
        return code if code and code.client_id == client.client_id else None

    def _issue(self, client_id: str, scopes: list[str], resource: str | None, subject: str | None) -> OAuthToken:
        access, refresh = "mcp_at_" + secrets.token_urlsafe(24), "mcp_rt_" + secrets.token_urlsafe(24)
        expires = int(time.time()) + self.token_ttl
        self.access[access] = AccessToken(token=access, client_id=client_id, scopes=scopes, expires_at=expires,
                                          resource=resource, subject=subject)
        self.refresh[refresh] = RefreshToken(token=refresh, client_id=client_id, scopes=scopes, resource=resource,
                                             subject=subject)
        return OAuthToken(access_token=access, token_type="Bearer", expires_in=self.token_ttl, refresh_token=refresh,
                          scope=" ".join(scopes) or None)

    async def exchange_authorization_code(self, client, authorization_code: AuthorizationCode) -> OAuthToken:
        if self.codes.pop(authorization_code.code, None) is None:
            raise TokenError("invalid_grant", "the code was used already")
        return self._issue(client.client_id, authorization_code.scopes, authorization_code.resource, authorization_code.subject)

    async def load_refresh_token(self, client, refresh_token: str):
        token = self.refresh.get(refresh_token)
        return token if token and token.client_id == client.client_id else None

    async def exchange_refresh_token(self, client, refresh_token: RefreshToken, scopes: list[str]) -> OAuthToken:
        if self.refresh.pop(refresh_token.token, None) is None:
            raise TokenError("invalid_grant", "the refresh token was used already")
        return self._issue(client.client_id, scopes or refresh_token.scopes, refresh_token.resource, refresh_token.subject)

    async def load_access_token(self, token: str):
        found = self.access.get(token)
        if found is None or (found.expires_at is not None and found.expires_at < time.time()):
            return None
        return found

    async def revoke_token(self, token) -> None:
        self.access.pop(token.token, None)
        self.refresh.pop(token.token, None)


def build(port: int, token_ttl: int) -> MCPServer:
    base = f"http://127.0.0.1:{port}"
    provider = MemoryProvider(resource=f"{base}/mcp", token_ttl=token_ttl)
    server = MCPServer(
        name="notes", auth_server_provider=provider,
        auth=AuthSettings(
            issuer_url=AnyHttpUrl(base), resource_server_url=AnyHttpUrl(f"{base}/mcp"),
            client_registration_options=ClientRegistrationOptions(enabled=True, valid_scopes=["notes"], default_scopes=["notes"]),
            revocation_options=RevocationOptions(enabled=True), required_scopes=["notes"], validate_token_resource=True))
    notes: list[str] = []

    @server.tool(annotations={"readOnlyHint": True})
    def list_notes() -> list[str]:
        """The notes kept so far."""
        return list(notes)

    @server.tool()
    def add_note(text: str) -> str:
        """Keeps a note."""
        notes.append(text)
        return f"kept {len(notes)}"

    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token-ttl", type=int, default=3600)
    args, _ = parser.parse_known_args()
    port = args.port
    if port == 0:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    app = build(port, args.token_ttl).streamable_http_app()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    original = server.startup

    async def startup(*a, **kw):
        await original(*a, **kw)
        print(f"READY {port}", flush=True)

    server.startup = startup
    server.run()


if __name__ == "__main__":
    sys.exit(main())
