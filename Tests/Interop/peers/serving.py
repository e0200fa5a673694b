"""The command line and the HTTP serving that the OAuth and OpenID Connect peer servers share.

``--port`` (0 picks a free one), ``--host``, ``--client`` and ``--verbose``; a threaded WSGI server that binds
before the app exists, so that ``--port 0`` works and the issuer knows the real port; and the line
``READY <port>`` on stdout that ``process.PeerProcess`` waits for.

Imported by the server scripts, which run with this folder first on ``sys.path``.
"""

from __future__ import annotations

import argparse
import logging

from werkzeug.serving import ThreadedWSGIServer


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def client_argument(make_client, *fields):
    """``make_client(*fields)`` for an argparse type: its ValueError becomes an argparse error."""
    try:
        return make_client(*fields)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def argument_parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the first paragraph of ``doc``, with ``--port`` and ``--host``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    return parser


def add_client_arguments(parser: argparse.ArgumentParser, parse_client, metavar: str) -> None:
    """``--client`` (repeatable, parsed by ``parse_client`` into ``args.clients``) and ``--verbose``."""
    parser.add_argument("--client", dest="clients", action="append", type=parse_client, default=[],
                        metavar=metavar)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")


class PeerWSGIServer(ThreadedWSGIServer):
    request_queue_size = 1024  # tests burst hundreds of concurrent connections


def serve(args, store, create_app) -> int:
    """Register ``args.clients`` in ``store``, bind, build ``create_app(issuer, port)``, say READY and serve."""
    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    for c in args.clients:
        store.clients[c.client_id] = c

    # Bind first so that --port 0 works and the issuer knows the real port.
    holder = {}

    def app_proxy(environ, start_response):
        return holder["app"](environ, start_response)

    httpd = PeerWSGIServer(args.host, args.port, app_proxy)
    port = httpd.socket.getsockname()[1]
    host_for_url = f"[{args.host}]" if ":" in args.host else args.host
    issuer = args.issuer or f"http://{host_for_url}:{port}"
    holder["app"] = create_app(issuer, port)

    print(f"READY {port}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0
