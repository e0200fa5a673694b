import Foundation
import LatchkeyHTTP
import Testing

/// Requests reach the server as given, and responses come back whole.
@Suite struct RoundTripTests {
    @Test(arguments: Client.allCases) func getSendsHeadersAndQueryAndReturnsJSON(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let response = try await client.send(
            OutboundRequest(url: "\(server.base)/echo?a=1&b=two", headers: [OutboundHeader(name: "X-Probe", value: "abc 123")])
        )
        #expect(response.status == 200)
        #expect(response.header("content-type") == "application/json")
        let echo = try Echo(response)
        #expect(echo.method == "GET")
        #expect(echo.target == "/echo?a=1&b=two")
        #expect(echo.header("X-Probe") == "abc 123")
        #expect(echo.header("Content-Length") == nil)
        #expect(echo.body == "")
    }

    @Test(arguments: Client.allCases) func hostAndAcceptAreSentUnlessGivenInAnyCase(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let plain = try Echo(try await client.send(OutboundRequest(url: "\(server.base)/echo")))
        #expect(plain.header("Host") == server.base.replacingOccurrences(of: "http://", with: ""))
        #expect(plain.header("Accept") == "*/*")
        let given = try Echo(try await client.send(OutboundRequest(
            url: "\(server.base)/echo", headers: [OutboundHeader(name: "aCCEPT", value: "application/json")])))
        #expect(given.headers.filter { $0[0].lowercased() == "accept" }.map { $0[1] } == ["application/json"])
    }

    /// The event-loop client frames the body itself: framing and hop-by-hop headers from the caller, in any case, are
    /// not written (the proxy's header policy drops them before; curl is given none).
    @Test func theEventLoopClientWritesNoFramingHeaderOfTheCallers() async throws {
        let server = try await LoopbackServer.start()
        let client = Client.eventLoop.make()
        let echo = try Echo(try await client.send(OutboundRequest(
            url: "\(server.base)/echo",
            headers: [
                OutboundHeader(name: "content-LENGTH", value: "999"), OutboundHeader(name: "Transfer-Encoding", value: "chunked"),
                OutboundHeader(name: "CONNECTION", value: "close"), OutboundHeader(name: "keep-alive", value: "timeout=5"),
                OutboundHeader(name: "X-Kept", value: "yes"),
            ])))
        let names = Set(echo.headers.map { $0[0].lowercased() })
        #expect(names.isDisjoint(with: ["content-length", "transfer-encoding", "connection", "keep-alive"]))
        #expect(echo.header("X-Kept") == "yes")
    }

    /// A request that carries its URL's check goes where the check says, as one without it does.
    @Test(arguments: Client.allCases) func aCheckedURLIsSentAsChecked(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        var request = OutboundRequest(url: "\(server.base)/echo?b=%7Ea")
        request.checkedURL = try CheckedURL(request.url)
        #expect(request.checkedURL?.host == "127.0.0.1" && request.checkedURL?.scheme == "http")
        let echo = try Echo(try await client.stream(request, upload: nil).collected(upTo: 1 << 20))
        #expect(echo.target == "/echo?b=%7Ea")
    }

    @Test(arguments: Client.allCases) func postSendsBodyAndContentTypeExactly(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let json = #"{"grant_type":"authorization_code","code":"é"}"#
        let response = try await client.send(
            OutboundRequest(
                method: "POST",
                url: "\(server.base)/echo",
                headers: [OutboundHeader(name: "Content-Type", value: "application/json")],
                body: Array(json.utf8)
            )
        )
        let echo = try Echo(response)
        #expect(echo.method == "POST")
        // The server decodes the body as Latin-1, so each scalar is one byte as sent.
        #expect(echo.body.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) } == Array(json.utf8))
        #expect(echo.header("Content-Type") == "application/json")
        #expect(echo.header("Content-Length") == String(json.utf8.count))
        #expect(echo.header("Expect") == nil)
    }

    @Test(arguments: Client.allCases) func largePostBodyIsSentWithoutExpectContinue(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        // curl would add "Expect: 100-continue" above 1 MiB (1 KiB in older versions).
        let body = [UInt8](repeating: UInt8(ascii: "z"), count: 2 * 1024 * 1024)
        let response = try await client.send(OutboundRequest(method: "POST", url: "\(server.base)/echo", body: body))
        let echo = try Echo(response)
        #expect(echo.header("Expect") == nil)
        #expect(echo.body.utf8.count == body.count)
    }

    @Test(arguments: Client.allCases) func postWithoutBodySendsContentLengthZeroAndNoContentType(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let echo = try Echo(try await client.send(OutboundRequest(method: "POST", url: "\(server.base)/echo")))
        #expect(echo.method == "POST")
        #expect(echo.header("Content-Length") == "0")
        #expect(echo.header("Content-Type") == nil)
    }

    @Test(arguments: Client.allCases) func bodyWithoutContentTypeGetsNoFormDefault(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let echo = try Echo(
            try await client.send(OutboundRequest(method: "POST", url: "\(server.base)/echo", body: Array("raw".utf8)))
        )
        #expect(echo.header("Content-Type") == nil)
        #expect(echo.body == "raw")
    }

    @Test(arguments: Client.allCases, ["PUT", "PATCH", "DELETE", "OPTIONS"])
    func otherMethodsAreSentWithTheirBody(_ kind: Client, method: String) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let echo = try Echo(
            try await client.send(OutboundRequest(method: method, url: "\(server.base)/echo", body: Array("payload-\(method)".utf8)))
        )
        #expect(echo.method == method)
        #expect(echo.body == "payload-\(method)")
    }

    @Test(arguments: Client.allCases, ["PUT", "PATCH"])
    func putAndPatchWithoutBodySendContentLengthZero(_ kind: Client, method: String) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let echo = try Echo(try await client.send(OutboundRequest(method: method, url: "\(server.base)/echo")))
        #expect(echo.method == method)
        #expect(echo.header("Content-Length") == "0")
    }

    @Test(arguments: Client.allCases) func deleteWithoutBodySendsNoBody(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let echo = try Echo(try await client.send(OutboundRequest(method: "DELETE", url: "\(server.base)/echo")))
        #expect(echo.method == "DELETE")
        #expect(echo.header("Content-Length") == nil)
    }

    @Test(arguments: Client.allCases) func headReturnsHeadersWithoutWaitingForABody(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let response = try await client.send(OutboundRequest(method: "HEAD", url: "\(server.base)/echo"))
        #expect(response.status == 200)
        #expect(response.body.isEmpty)
        #expect(Int(response.header("Content-Length") ?? "") ?? 0 > 0)
    }

    @Test(arguments: Client.allCases) func headOfABodyLargerThanTheCapSucceeds(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let response = try await client.send(
            OutboundRequest(method: "HEAD", url: "\(server.base)/big?bytes=100000", maxResponseBytes: 1000)
        )
        #expect(response.status == 200)
        #expect(response.header("Content-Length") == "100000")
    }

    @Test(arguments: Client.allCases) func emptyHeaderValueIsSentEmpty(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let echo = try Echo(
            try await client.send(OutboundRequest(url: "\(server.base)/echo", headers: [OutboundHeader(name: "X-Empty", value: "")]))
        )
        #expect(echo.header("X-Empty") == "")
    }

    @Test(arguments: Client.allCases, [200, 201, 404, 418, 503])
    func statusCodesPassThroughAsResponses(_ kind: Client, status: Int) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let response = try await client.send(OutboundRequest(url: "\(server.base)/status/\(status)"))
        #expect(response.status == status)
        #expect(response.body == Array("status body".utf8))
    }

    @Test(arguments: Client.allCases) func repeatedHeadersAreAllKeptAndLookupTakesTheLastCaseInsensitively(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let response = try await client.send(OutboundRequest(url: "\(server.base)/multi"))
        #expect(response.headers.filter { $0.name == "Set-Cookie" }.map(\.value) == ["a=1", "b=2"])
        #expect(response.header("set-cookie") == "b=2")
        #expect(response.header("X-ANSWER") == "42")
        #expect(response.header("X-Missing") == nil)
    }

    @Test(arguments: Client.allCases) func interimResponseHeadersAreDropped(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let response = try await client.send(OutboundRequest(url: "\(server.base)/interim"))
        #expect(response.status == 200)
        #expect(response.header("X-Final") == "yes")
        #expect(response.header("Link") == nil)
        #expect(response.body == Array("final".utf8))
    }

    @Test(arguments: Client.allCases) func responseExactlyAtTheCapIsAccepted(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        for chunked in [false, true] {
            let response = try await client.send(
                OutboundRequest(url: "\(server.base)/big?bytes=50000\(chunked ? "&chunked=1" : "")", maxResponseBytes: 50000)
            )
            #expect(response.body.count == 50000)
        }
    }
}
