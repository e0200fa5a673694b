import Foundation
import LatchkeyHTTP
import Testing

/// Redirects are returned as they are unless asked for, and then stay on one origin.
@Suite struct RedirectTests {
    private func redirect(_ server: LoopbackServer, to target: String, code: Int = 302) -> String {
        let encoded = target.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? target
        return "\(server.base)/redirect?code=\(code)&to=\(encoded)"
    }

    @Test(arguments: Client.allCases) func redirectIsNotFollowedByDefault(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let response = try await client.send(OutboundRequest(url: redirect(server, to: "/echo")))
        #expect(response.status == 302)
        #expect(response.header("Location") == "/echo")
        #expect(response.body == Array("moved".utf8))
    }

    @Test(arguments: Client.allCases) func sameOriginRedirectIsFollowedWhenAsked(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let response = try await client.send(
            OutboundRequest(url: redirect(server, to: "/echo?after=redirect"), followRedirects: true)
        )
        #expect(response.status == 200)
        #expect(response.header("Location") == nil)  // only the final response's headers
        #expect(try Echo(response).target == "/echo?after=redirect")
    }

    @Test(arguments: Client.allCases) func postBecomesGetAfter302And303(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        for code in [302, 303] {
            let echo = try Echo(
                try await client.send(
                    OutboundRequest(
                        method: "POST",
                        url: redirect(server, to: "/echo", code: code),
                        headers: [OutboundHeader(name: "Content-Type", value: "text/plain")],
                        body: Array("form".utf8),
                        followRedirects: true
                    )
                )
            )
            #expect(echo.method == "GET")
            #expect(echo.body == "")
            #expect(echo.header("Content-Type") == nil)
        }
    }

    @Test(arguments: Client.allCases) func postStaysPostWithItsBodyAfter307And308(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        for code in [307, 308] {
            let echo = try Echo(
                try await client.send(
                    OutboundRequest(method: "POST", url: redirect(server, to: "/echo", code: code), body: Array("keep".utf8), followRedirects: true)
                )
            )
            #expect(echo.method == "POST")
            #expect(echo.body == "keep")
        }
    }

    @Test(arguments: Client.allCases) func redirectToAnotherHostIsReturnedNotFollowed(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        // Same port, other host name: a different origin.
        let elsewhere = "http://localhost:\(server.port)/echo"
        let response = try await client.send(OutboundRequest(url: redirect(server, to: elsewhere), followRedirects: true))
        #expect(response.status == 302)
        #expect(response.header("Location") == elsewhere)
    }

    @Test(arguments: Client.allCases) func redirectToAnotherPortOrSchemeIsReturnedNotFollowed(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        for target in ["http://127.0.0.1:1/echo", "https://127.0.0.1:\(server.port)/echo", "ftp://127.0.0.1/x"] {
            let response = try await client.send(OutboundRequest(url: redirect(server, to: target), followRedirects: true))
            #expect(response.status == 302)
        }
    }

    @Test(arguments: Client.allCases) func redirectLoopStopsAfterFiveHops(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let error = await #expect(throws: OutboundError.self) {
            try await client.send(OutboundRequest(url: "\(server.base)/loop", followRedirects: true))
        }
        #expect(error?.code == .transport)
    }
}
