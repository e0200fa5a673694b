import Foundation
import LatchkeyHTTP
import Testing

/// Each way a request can fail maps to one stable code, and no message leaks secrets.
@Suite struct FailureTests {
    @Test(arguments: Client.allCases) func refusedConnectionIsConnectFailed(_ kind: Client) async throws {
        let client = kind.make()
        // Nothing listens on port 1.
        let error = await #expect(throws: OutboundError.self) {
            try await client.send(OutboundRequest(url: "http://127.0.0.1:1/echo"))
        }
        #expect(error?.code == .connectFailed)
        if kind == .curl { #expect(error?.curlCode == 7) }
        // The event-loop client names the exchange by its method and origin.
        if kind == .eventLoop { #expect(error?.message.hasPrefix("GET http://127.0.0.1:1: ") == true) }
    }

    @Test(arguments: Client.allCases) func slowResponseTimesOutWithinBounds(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: OutboundError.self) {
            try await client.send(OutboundRequest(url: "\(server.base)/slow?ms=5000", totalTimeout: .milliseconds(300)))
        }
        let elapsed = (clock.now - start).milliseconds
        #expect(error?.code == .timeout)
        if kind == .curl { #expect(error?.curlCode == 28) }
        // A lower bound only: how late a loaded machine ends the call is no property of the client.
        #expect(elapsed >= 250, "took \(elapsed) ms")
    }

    @Test(arguments: Client.allCases) func zeroTimeoutMeansImmediateNotUnlimited(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let error = await #expect(throws: OutboundError.self) {
            // curl reads a 0 timeout as "none"; the client must not pass it through.
            try await client.send(OutboundRequest(url: "\(server.base)/slow?ms=3000", totalTimeout: .zero))
        }
        // An unlimited timeout would have let the 3 s answer arrive: the call would not have thrown at all.
        #expect(error?.code == .timeout)
    }

    @Test(arguments: Client.allCases, [(false, 63), (true, 23)])
    func responseOverTheCapIsRefused(_ kind: Client, framing: (chunked: Bool, expectedCurlCode: Int)) async throws {
        let (chunked, expectedCurlCode) = framing
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let error = await #expect(throws: OutboundError.self) {
            try await client.send(
                OutboundRequest(url: "\(server.base)/big?bytes=200000\(chunked ? "&chunked=1" : "")", maxResponseBytes: 10000)
            )
        }
        #expect(error?.code == .responseTooLarge)
        // With Content-Length, CURLOPT_MAXFILESIZE_LARGE refuses up front; chunked, the write callback does.
        if kind == .curl { #expect(error?.curlCode == expectedCurlCode) }
    }

    @Test(arguments: Client.allCases) func droppedConnectionIsTransportError(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let error = await #expect(throws: OutboundError.self) {
            try await client.send(OutboundRequest(url: "\(server.base)/close"))
        }
        #expect(error?.code == .transport)
        if kind == .curl { #expect(error?.curlCode == 52) }  // CURLE_GOT_NOTHING
    }

    @Test(arguments: Client.allCases) func tlsToAPlainHTTPServerIsTLSFailed(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let error = await #expect(throws: OutboundError.self) {
            try await client.send(OutboundRequest(url: "https://127.0.0.1:\(server.port)/echo"))
        }
        #expect(error?.code == .tlsFailed)
    }

    @Test(arguments: Client.allCases) func selfSignedCertificateIsRefused(_ kind: Client) async throws {
        let certificate = try await makeSelfSignedCertificate()
        defer { try? FileManager.default.removeItem(atPath: certificate.directory) }
        let server = try await LoopbackServer.start(certificate: (certificate.cert, certificate.key))
        let client = kind.make()
        let error = await #expect(throws: OutboundError.self) {
            try await client.send(OutboundRequest(url: "https://127.0.0.1:\(server.port)/echo"))
        }
        #expect(error?.code == .tlsFailed, "\(String(describing: error))")
        if kind == .curl { #expect(error?.curlCode == 60) }  // CURLE_PEER_FAILED_VERIFICATION
    }

    @Test(arguments: Client.allCases) func plainHTTPToNonLoopbackHostIsRefusedBeforeAnyIO(_ kind: Client) async throws {
        let client = kind.make()
        let error = await #expect(throws: OutboundError.self) {
            try await client.send(OutboundRequest(url: "http://example.com/token?code=abc"))
        }
        #expect(error?.code == .insecureURL)
        #expect(error?.curlCode == nil)  // curl never ran: no connection was attempted
    }

    /// A request may carry its URL's check so that the client does not parse it again; one made for another URL (the
    /// request's URL changed after it, or was never the one checked) is ignored, and the URL is checked as sent.
    @Test(arguments: Client.allCases, ["http://example.com/token?code=abc", "ftp://127.0.0.1/"])
    func aCheckMadeForAnotherURLIsNotTrusted(_ kind: Client, url: String) async throws {
        let client = kind.make()
        for call in [false, true] {
            var request = OutboundRequest(url: url)
            request.checkedURL = try CheckedURL("https://example.com/token?code=abc")
            let error = await #expect(throws: OutboundError.self) {
                if call { _ = try await client.stream(request, upload: nil) } else { _ = try await client.send(request) }
            }
            #expect(error?.code == .insecureURL)
        }
        #expect(throws: OutboundError.self) { try CheckedURL(url) }
    }

    @Test(arguments: Client.allCases, ["not a url", "", "https://", "http://exa mple.com/", "https://host:99999/", "/relative/path"])
    func unparsableURLIsInvalidURL(_ kind: Client, url: String) async throws {
        let client = kind.make()
        let error = await #expect(throws: OutboundError.self) {
            try await client.send(OutboundRequest(url: url))
        }
        #expect(error?.code == .invalidURL)
    }

    @Test(arguments: Client.allCases) func headerValueWithLineBreakIsRefused(_ kind: Client) async throws {
        let client = kind.make()
        let error = await #expect(throws: OutboundError.self) {
            try await client.send(
                OutboundRequest(url: "http://127.0.0.1:1/", headers: [OutboundHeader(name: "X-A", value: "1\r\nX-Injected: 2")])
            )
        }
        #expect(error?.code == .transport)
        #expect(error?.curlCode == nil)
        #expect(error?.message.contains("X-Injected") == false)
    }

    @Test(arguments: Client.allCases, ["GET /x", "", "PO\nST"])
    func methodThatIsNotATokenIsRefused(_ kind: Client, method: String) async throws {
        let client = kind.make()
        let error = await #expect(throws: OutboundError.self) {
            try await client.send(OutboundRequest(method: method, url: "http://127.0.0.1:1/"))
        }
        #expect(error?.code == .transport)
    }

    @Test(arguments: Client.allCases) func errorMessagesHoldNoQueryStringPathOrHeaders(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let secretHeaders = [OutboundHeader(name: "Authorization", value: "Bearer header-secret")]
        let requests = [
            OutboundRequest(url: "http://127.0.0.1:1/path-secret?token=query-secret", headers: secretHeaders),
            OutboundRequest(
                url: "\(server.base)/slow?ms=3000&token=query-secret", headers: secretHeaders, totalTimeout: .milliseconds(200)
            ),
            OutboundRequest(url: "\(server.base)/big?bytes=90000&token=query-secret", headers: secretHeaders, maxResponseBytes: 10),
            OutboundRequest(url: "\(server.base)/close?token=query-secret", headers: secretHeaders),
            OutboundRequest(url: "https://user:pass-secret@127.0.0.1:\(server.port)/path-secret?token=query-secret"),
            OutboundRequest(url: "http://example.com/path-secret?token=query-secret"),
            OutboundRequest(url: "ftp://127.0.0.1/path-secret?token=query-secret"),
            OutboundRequest(url: "https://exa mple.com/path-secret?token=query-secret"),
        ]
        for request in requests {
            let error = await #expect(throws: OutboundError.self) { try await client.send(request) }
            let text = error.map { "\($0.message) \($0.description)" } ?? ""
            for secret in ["query-secret", "header-secret", "pass-secret", "path-secret", "token="] {
                #expect(!text.contains(secret), "\(text)")
            }
        }
    }

    @Test func errorDescriptionStartsWithTheStableCode() {
        let error = OutboundError(code: .responseTooLarge, message: "GET https://api.example.com:443: too big", curlCode: 63)
        #expect(error.description == "response_too_large: GET https://api.example.com:443: too big (curl 63)")
        #expect(OutboundError.Code.connectFailed.rawValue == "connect_failed")
    }
}
