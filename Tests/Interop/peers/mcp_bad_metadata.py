"""A remote MCP server that gets its authorization metadata wrong, one way per path: the hostile and broken
servers that Latchkey's discovery must refuse with a clear error. Each mode lives under its own path,
`/{mode}/mcp`, with its own protected resource metadata and authorization server (issuer `/{mode}`):

- `good`: everything as the MCP authorization specification says (the control);
- `no-metadata`: a 401 with no `resource_metadata`, and nothing at the well-known URLs;
- `wrong-resource`: protected resource metadata for another server;
- `wrong-issuer`: authorization server metadata whose `issuer` is not the one named;
- `http-authorize`: an `http` authorization endpoint on a host that is not loopback;
- `redirect`: the protected resource metadata answers with a redirect to the real document;
- `huge`: protected resource metadata of 10 MB;
- `register-500`: good metadata, but its registration endpoint answers 500.

Run as `python3 mcp_bad_metadata.py --port N`; prints `READY <port>`. It counts the requests it saw per path at
`GET /seen` (JSON), so a test can show what Latchkey fetched."""
from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = {"good", "no-metadata", "wrong-resource", "wrong-issuer", "http-authorize", "redirect", "huge", "register-500"}
SEEN: dict[str, int] = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def send(self, status: int, body: bytes = b"", headers: dict | None = None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, value):
        self.send(200, json.dumps(value).encode(), {"Content-Type": "application/json"})

    def count(self):
        with LOCK:
            SEEN[self.path] = SEEN.get(self.path, 0) + 1

    def do_POST(self):
        self.count()
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = self.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] in MODES and parts[1] == "mcp":
            mode = parts[0]
            challenge = 'Bearer error="invalid_token"'
            if mode != "no-metadata":
                challenge += f', resource_metadata="{self.base}/.well-known/oauth-protected-resource/{mode}/mcp"'
            return self.send(401, b"", {"WWW-Authenticate": challenge})
        if parts == ["register-500", "register"]:
            return self.send(500, b'{"error":"server_error"}', {"Content-Type": "application/json"})
        self.send(404)

    def do_GET(self):
        self.count()
        if self.path == "/seen":
            with LOCK:
                return self.send_json(dict(SEEN))
        prm_prefix = "/.well-known/oauth-protected-resource/"
        as_prefix = "/.well-known/oauth-authorization-server/"
        if self.path.startswith(prm_prefix) and self.path.endswith("/mcp"):
            mode = self.path[len(prm_prefix):-len("/mcp")]
            if mode not in MODES or mode == "no-metadata":
                return self.send(404)
            if mode == "redirect" and "?followed" not in self.path:
                return self.send(302, b"", {"Location": f"{self.base}{self.path}?followed"})
            resource = f"{self.base}/{mode}/mcp"
            if mode == "wrong-resource":
                resource = f"{self.base}/someone-else/mcp"
            document = {"resource": resource, "authorization_servers": [f"{self.base}/{mode}"], "scopes_supported": ["notes"]}
            if mode == "huge":
                document["padding"] = "x" * (10 * 1024 * 1024)
            return self.send_json(document)
        if self.path.startswith(as_prefix):
            mode = self.path[len(as_prefix):]
            if mode not in MODES:
                return self.send(404)
            issuer = f"{self.base}/{mode}"
            document = {
                "issuer": f"{self.base}/impostor" if mode == "wrong-issuer" else issuer,
                "authorization_endpoint": "http://auth.example.com/authorize" if mode == "http-authorize" else f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "registration_endpoint": f"{issuer}/register",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
            }
            return self.send_json(document)
        self.send(404)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
