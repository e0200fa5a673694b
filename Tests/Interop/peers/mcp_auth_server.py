"""A remote MCP server with its own OAuth, built with the official Python SDK (`mcp` 2.x): the SDK's authorization
server routes (metadata, dynamic registration, authorize, token, revocation) and its protected resource metadata
and bearer check in front of a Streamable HTTP MCP server. Nothing of the authorization server is hand-written but
the in-memory store of clients, codes and tokens that the SDK's provider protocol asks for.

Run as `python3 mcp_auth_server.py --port N [--cimd]`; prints `READY <port>` once it listens on 127.0.0.1.
Authorization is granted at once (the peer plays a person who always consents), so a flow needs no browser.

The SDK's authorization server cannot consume a client ID metadata document by itself. With `--cimd` the peer's
provider does (its `get_client` fetches a URL client id's document and checks it names itself), and a small wrapper
adds `client_id_metadata_document_supported: true` to the SDK's metadata. For the tests' eyes only:
`POST /peer/clients` pre-registers a client (as a vendor's console would), `POST /peer/revoke-grants` withdraws
every grant of a client (as a person can at the vendor), and `GET /peer/state` shows the clients and live tokens."""
from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import urllib.error
import urllib.request
import socket
import sys
import time

import uvicorn
from pydantic import AnyHttpUrl
from starlette.requests import Request
from starlette.responses import JSONResponse

from mcp.server.auth.handlers import revoke
from mcp.server.auth.provider import (AccessToken, AuthorizationCode, AuthorizationParams, RefreshToken, TokenError,
                                      construct_redirect_uri)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from mcp.types import ToolAnnotations


class RevocationRequest(revoke.RevocationRequest):
    """The SDK's revocation request, with the fix of python-sdk PR #3512 for issue #3508 (open in mcp 2.3): without a
    default, `client_secret` is required, so a client authenticating with HTTP Basic (or a public client) that follows
    RFC 7009 is refused with 400. Latchkey sends what RFC 7009 says; the peer takes it as the fixed SDK will."""
    client_secret: str | None = None


revoke.RevocationRequest = RevocationRequest


class MemoryProvider:
    """The SDK's `OAuthAuthorizationServerProvider`, in memory."""

    def __init__(self, resource: str, token_ttl: int, cimd: bool):
        self.resource = resource
        self.token_ttl = token_ttl
        self.cimd = cimd
        self.registrations = 0
        self.documents_fetched = 0
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}

    async def get_client(self, client_id: str):
        if self.cimd and client_id.startswith(("https://", "http://127.0.0.1:")):
            return await self.metadata_document_client(client_id)
        return self.clients.get(client_id)

    async def metadata_document_client(self, url: str):
        """A client ID metadata document: fetched from its URL, which it must name as its `client_id`."""
        document = await asyncio.to_thread(fetch_document, url)
        self.documents_fetched += 1
        if document is None:
            return None
        if document.get("client_id") != url or document.get("token_endpoint_auth_method") != "none":
            return None
        return OAuthClientInformationFull(
            client_id=url, redirect_uris=document["redirect_uris"], token_endpoint_auth_method="none",
            grant_types=document["grant_types"], response_types=document["response_types"],
            client_name=document.get("client_name"), scope="notes")

    async def register_client(self, client_info: OAuthClientInformationFull):
        self.registrations += 1
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


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch_document(url: str) -> dict | None:
    """GETs a JSON document without following redirects; None unless it answers 200 with a JSON object."""
    try:
        with urllib.request.build_opener(NoRedirects).open(url, timeout=10) as answer:
            document = json.loads(answer.read(65536))
    except (urllib.error.URLError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def build(port: int, token_ttl: int, cimd: bool) -> MCPServer:
    base = f"http://127.0.0.1:{port}"
    provider = MemoryProvider(resource=f"{base}/mcp", token_ttl=token_ttl, cimd=cimd)
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

    def count_notes() -> int:
        """How many notes are kept."""
        return len(notes)

    @server.tool()
    async def open_archive(ctx: Context) -> str:
        """Adds the count_notes tool (a read), and tells the session its tools changed, on the session's own stream."""
        if "count_notes" not in {t.name for t in await server.list_tools()}:
            server.add_tool(count_notes, annotations=ToolAnnotations.model_validate({"readOnlyHint": True}))
        await ctx.session.send_tool_list_changed()
        return "archive open"

    progress_tokens: list = []

    @server.tool(annotations={"readOnlyHint": True})
    async def export_notes(steps: int, ctx: Context) -> str:
        """Exports the notes in steps, reporting progress after each (to a caller that asked for it)."""
        meta = ctx.request_context.meta
        # The SDK's meta is a TypedDict keyed `progress_token` (the wire's `progressToken`).
        meta = meta if isinstance(meta, dict) else {}
        progress_tokens.append(meta.get("progress_token", meta.get("progressToken")))
        for step in range(1, steps + 1):
            await asyncio.sleep(0.02)
            await ctx.report_progress(step, steps, f"step {step} of {steps}")
        return f"exported {len(notes)} notes in {steps} steps"

    @server.custom_route("/peer/clients", methods=["POST"])
    async def preregister(request: Request) -> JSONResponse:
        body = await request.json()
        provider.clients[body["client_id"]] = OAuthClientInformationFull(
            client_id=body["client_id"], client_secret=body["client_secret"], redirect_uris=[body["redirect_uri"]],
            token_endpoint_auth_method="client_secret_basic", grant_types=["authorization_code", "refresh_token"],
            response_types=["code"], scope="notes")
        return JSONResponse({"client_id": body["client_id"]}, status_code=201)

    @server.custom_route("/peer/revoke-grants", methods=["POST"])
    async def revoke_grants(request: Request) -> JSONResponse:
        """A person withdraws the grant at the vendor: every token of the client is gone."""
        client_id = (await request.json())["client_id"]
        for tokens in (provider.access, provider.refresh):
            for token in [t for t, v in tokens.items() if v.client_id == client_id]:
                del tokens[token]
        return JSONResponse({"revoked": client_id})

    @server.custom_route("/peer/state", methods=["GET"])
    async def state(request: Request) -> JSONResponse:
        return JSONResponse({
            "registrations": provider.registrations, "documents_fetched": provider.documents_fetched,
            "progress_tokens": progress_tokens,
            "clients": {c.client_id: c.token_endpoint_auth_method for c in provider.clients.values()},
            "access_tokens": [{"client_id": t.client_id, "resource": t.resource, "token": t.token} for t in provider.access.values()],
            "refresh_tokens": [{"client_id": t.client_id, "token": t.token} for t in provider.refresh.values()]})

    return server


class AdvertiseMetadataDocuments:
    """Adds `client_id_metadata_document_supported: true` to the SDK's authorization server metadata."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/.well-known/oauth-authorization-server":
            return await self.app(scope, receive, send)
        held = {}

        async def hold(message):
            if message["type"] == "http.response.start":
                held["start"] = message
            elif message["type"] == "http.response.body":
                held["body"] = held.get("body", b"") + message.get("body", b"")
                if not message.get("more_body"):
                    document = json.loads(held["body"])
                    document["client_id_metadata_document_supported"] = True
                    body = json.dumps(document).encode()
                    start = held["start"]
                    start["headers"] = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"] + [
                        (b"content-length", str(len(body)).encode())]
                    await send(start)
                    await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, hold)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token-ttl", type=int, default=3600)
    parser.add_argument("--cimd", action="store_true")
    args, _ = parser.parse_known_args()
    port = args.port
    if port == 0:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    app = build(port, args.token_ttl, args.cimd).streamable_http_app()
    if args.cimd:
        app = AdvertiseMetadataDocuments(app)
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
