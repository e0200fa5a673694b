import Foundation
import LatchkeyHTTP

/// A small HTTP/1.1 server on 127.0.0.1, in Python, started per test.
///
/// Routes:
/// - `/echo`: the method, target, headers and body as JSON;
/// - `/status/N`: status N;
/// - `/slow?ms=N`: waits N ms, then 200;
/// - `/big?bytes=N[&chunked=1]`: N bytes, with Content-Length or chunked;
/// - `/redirect?to=URL[&code=N]`: a redirect (302 by default);
/// - `/loop`: a redirect to itself;
/// - `/interim`: a 103 Early Hints with a `Link` header, then a 200;
/// - `/multi`: two `Set-Cookie` headers and a mixed-case `X-Answer`;
/// - `/close`: drops the connection without a response;
/// - `/answer-then-close`: a keep-alive answer, then the server closes the connection;
/// - `/ports`: how many distinct client ports (connections) it has seen;
/// - `/arrivals`: how many `/slow` requests have arrived so far (for waiting until a request is in flight);
/// - `/drip?chunks=N&ms=M`: a chunked body of N lines `chunk-I`, one every M ms;
/// - `/gate?id=X`: the head and a first line `before-gate`, then nothing until `/open?id=X` is requested, then a last
///   line `after-gate` (or `gate-timeout` after a minute, so a client that never reads cannot hold the server);
/// - `/open?id=X`: opens gate X;
/// - `/sink`: reads a body (Content-Length or chunked) and answers its size, SHA-256 and framing.
final class LoopbackServer: @unchecked Sendable {
    let port: Int
    private let process: Process

    var base: String { "http://127.0.0.1:\(port)" }

    /// Starts the server on a thread of its own (starting blocks until Python prints its port).
    static func start(certificate: (cert: String, key: String)? = nil) async throws -> LoopbackServer {
        try await onAThreadOfItsOwn { try LoopbackServer(certificate: certificate) }
    }

    /// Starts the server; with `certificate` (a cert and key PEM path), it speaks TLS.
    private init(certificate: (cert: String, key: String)? = nil) throws {
        let script = FileManager.default.temporaryDirectory
            .appendingPathComponent("latchkey-http-test-\(UUID().uuidString).py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: script) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path] + (certificate.map { [$0.cert, $0.key] } ?? [])
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardInput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()

        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = stdout.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw ServerError.noPort }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw ServerError.noPort }
        self.port = port
        self.process = process
    }

    deinit {
        stop()
    }

    /// Returns once at least `count` `/slow` requests have reached the server (asked with a client of its own).
    func slowRequests(atLeast count: Int) async throws {
        let probe = CurlHTTPClient()
        defer { probe.shutdown() }
        while true {
            let answer = try await probe.send(OutboundRequest(url: "\(base)/arrivals"))
            if (try JSONDecoder().decode([String: Int].self, from: Data(answer.body))["count"] ?? 0) >= count { return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Kills the server. SIGKILL, not `terminate()`: the child inherits the signal mask of the
    /// spawning thread, and the test runner's threads block SIGTERM.
    ///
    /// It does not wait for the exit: this runs wherever the last reference goes, usually on a thread of the
    /// cooperative pool, and Foundation learns of an exit only once every copy of the child's notification socket has
    /// closed; a child spawned at the same moment by another test may hold a copy until its own test ends. Blocking
    /// the pool's two threads on such exits stopped the whole run (seen in CI). Foundation reaps the child itself.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
    }

    enum ServerError: Error { case noPort }

    private static let script = #"""
        import hashlib, json, os, ssl, sys, threading, time
        from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
        from urllib.parse import urlparse, parse_qs

        ports = set()
        ports_lock = threading.Lock()
        slow_arrivals = [0]
        gates = {}
        gates_lock = threading.Lock()

        def gate(name):
            with gates_lock:
                return gates.setdefault(name, threading.Event())

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One write per response, and no Nagle delay: otherwise the body waits for the
            # client's delayed ACK of the headers, about 40 ms per request.
            wbufsize = -1
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def send(self, code, body=b"", headers=()):
                self.send_response(code)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def route(self):
                with ports_lock:
                    ports.add(self.client_address[1])
                url = urlparse(self.path)
                query = parse_qs(url.query)
                path = url.path
                chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
                if chunked:
                    body = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        body += self.rfile.read(size)
                        self.rfile.readline()
                else:
                    length = int(self.headers.get("Content-Length") or 0)
                    body = self.rfile.read(length) if length else b""
                if path == "/sink":
                    reply = {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest(), "chunked": chunked,
                             "content_length": self.headers.get("Content-Length")}
                    self.send(200, json.dumps(reply).encode(), [("Content-Type", "application/json")])
                    return
                if path == "/gate":
                    opened = gate(query.get("id", [""])[0])
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.wfile.write(b"c\r\nbefore-gate\n\r\n")
                    self.wfile.flush()
                    line = b"after-gate\n" if opened.wait(60) else b"gate-timeout\n"
                    self.wfile.write(b"%x\r\n" % len(line) + line + b"\r\n0\r\n\r\n")
                    self.wfile.flush()
                    return
                if path == "/open":
                    gate(query.get("id", [""])[0]).set()
                    self.send(204)
                    return
                if path == "/drip":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.wfile.flush()
                    for i in range(int(query.get("chunks", ["3"])[0])):
                        time.sleep(int(query.get("ms", ["100"])[0]) / 1000)
                        line = b"chunk-%d\n" % i
                        self.wfile.write(b"%x\r\n" % len(line) + line + b"\r\n")
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    return
                if path == "/echo":
                    reply = {
                        "method": self.command,
                        "target": self.path,
                        "headers": [[k, v] for k, v in self.headers.items()],
                        "body": body.decode("latin-1"),
                    }
                    self.send(200, json.dumps(reply).encode(), [("Content-Type", "application/json")])
                elif path.startswith("/status/"):
                    self.send(int(path.split("/")[2]), b"status body")
                elif path == "/slow":
                    with ports_lock:
                        slow_arrivals[0] += 1
                    time.sleep(int(query.get("ms", ["1000"])[0]) / 1000)
                    self.send(200, b"slow")
                elif path == "/big":
                    size = int(query["bytes"][0])
                    if query.get("chunked"):
                        self.send_response(200)
                        self.send_header("Transfer-Encoding", "chunked")
                        self.end_headers()
                        left = size
                        while left > 0:
                            n = min(left, 16384)
                            self.wfile.write(b"%x\r\n" % n + b"x" * n + b"\r\n")
                            left -= n
                        self.wfile.write(b"0\r\n\r\n")
                    else:
                        self.send(200, b"x" * size)
                elif path == "/redirect":
                    code = int(query.get("code", ["302"])[0])
                    self.send(code, b"moved", [("Location", query["to"][0])])
                elif path == "/loop":
                    self.send(302, b"", [("Location", "/loop")])
                elif path == "/interim":
                    self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
                    self.send(200, b"final", [("X-Final", "yes")])
                elif path == "/multi":
                    self.send(200, b"", [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Answer", "42")])
                elif path == "/close":
                    self.close_connection = True
                elif path == "/answer-then-close":
                    # A whole keep-alive answer (no "Connection: close"), then the server closes the connection, as
                    # a server does whose idle timeout passes while the client keeps the connection in its pool.
                    self.send(200, b"answered")
                    self.close_connection = True
                elif path == "/arrivals":
                    with ports_lock:
                        count = slow_arrivals[0]
                    self.send(200, json.dumps({"count": count}).encode(), [("Content-Type", "application/json")])
                elif path == "/ports":
                    with ports_lock:
                        count = len(ports)
                    self.send(200, json.dumps({"count": count}).encode(), [("Content-Type", "application/json")])
                else:
                    self.send(404, b"not found")

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = route

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

            def handle_error(self, request, client_address):
                pass  # clients that hang up (cancellation, timeouts) are expected

        server = Server(("127.0.0.1", 0), Handler)
        if len(sys.argv) == 3:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[1], sys.argv[2])
            server.socket = context.wrap_socket(server.socket, server_side=True)

        def exit_with_parent(parent=os.getppid()):
            # The test runner may die without stopping us (a crash, a timeout).
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)

        threading.Thread(target=exit_with_parent, daemon=True).start()
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#
}

/// A fresh self-signed certificate for `subjectAltName` (127.0.0.1 by default), made with the `openssl` tool, in a new
/// temporary directory that the caller removes. The wait for `openssl` runs on a thread of its own, never the pool's.
func makeSelfSignedCertificate(subjectAltName: String = "IP:127.0.0.1") async throws -> (cert: String, key: String, directory: String) {
    try await onAThreadOfItsOwn { try makeSelfSignedCertificateBlocking(subjectAltName: subjectAltName) }
}

private func makeSelfSignedCertificateBlocking(subjectAltName: String) throws -> (cert: String, key: String, directory: String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("latchkey-http-tls-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let cert = directory.appendingPathComponent("cert.pem").path
    let key = directory.appendingPathComponent("key.pem").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=latchkey-test", "-addext", "subjectAltName=\(subjectAltName)",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw LoopbackServer.ServerError.noPort }
    return (cert, key, directory.path)
}

/// Runs `body`, which blocks (a child process's output or exit), on a new thread, and returns its result.
///
/// Not on the cooperative pool, which has as many threads as cores (two here) and adds none when they block: a few
/// tests blocked at once would stop every other test until they end. (Dispatch's global queues do add threads, but
/// only after a blocked one has held them for seconds: 7 s here.)
func onAThreadOfItsOwn<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
