import LatchkeyHTTP
import LatchkeyModel
import LatchkeyProxy
import Testing

/// Which headers cross the proxy: hop-by-hop headers, and those a `Connection` header names, stay on their hop.
@Suite struct HeaderPolicyTests {
    @Test func headersTheProviderNamesInConnectionDoNotGoBack() {
        let provider = [
            OutboundHeader(name: "Content-Type", value: "application/json"),
            OutboundHeader(name: "Connection", value: "X-Hop-Internal, Keep-Alive"),
            OutboundHeader(name: "connection", value: " x-second-hop "),
            OutboundHeader(name: "x-hop-internal", value: "peer"),
            OutboundHeader(name: "X-Second-Hop", value: "peer"),
            OutboundHeader(name: "Keep-Alive", value: "timeout=5"),
            OutboundHeader(name: "X-Upstream", value: "echo"),
        ]
        #expect(HeaderPolicy.returnable(provider).map(\.name) == ["Content-Type", "X-Upstream"])
    }

    @Test func headersTheCallerNamesInConnectionAreNotForwarded() throws {
        let caller = [
            OutboundHeader(name: "Connection", value: "X-Mine"),
            OutboundHeader(name: "X-Mine", value: "1"),
            OutboundHeader(name: "X-Custom", value: "kept"),
        ]
        #expect(try HeaderPolicy.forwardable(caller).map(\.name) == ["X-Custom"])
    }

    @Test func keepingTheForwardableHeadersInPlaceKeepsWhatForwardableReturns() throws {
        let caller = ["Authorization", "Connection", "X-Mine", "Host", "X-Custom", "Latchkey-User", "Accept"]
            .map { OutboundHeader(name: $0, value: $0 == "Connection" ? "X-Mine" : "v") }
        var kept = caller
        try HeaderPolicy.keepForwardable(&kept)
        #expect(kept == (try HeaderPolicy.forwardable(caller)))
        #expect(kept.map(\.name) == ["X-Custom", "Accept"])
    }

    @Test(arguments: ["a\rb", "a\nX-Injected: y", "a\u{0}b"])
    func aHeaderWithALineBreakOrNulRefusesTheCallAndLeavesTheHeadersAsTheyWere(value: String) {
        let caller = [OutboundHeader(name: "Authorization", value: "Bearer k"), OutboundHeader(name: "X-Custom", value: value)]
        var kept = caller
        #expect {
            try HeaderPolicy.keepForwardable(&kept)
        } throws: { error in
            let error = error as? LatchkeyError
            return error?.code == .invalidRequest && error?.field == "headers"
        }
        #expect(kept == caller)
    }

    @Test func namesAreMatchedWithoutRegardToCase() throws {
        let caller = ["AUTHORIZATION", "Cookie", "X-Forwarded-For", "LATCHKEY-Connection", "Transfer-Encoding", "HOST", "tE", "X-Custom"]
            .map { OutboundHeader(name: $0, value: "v") }
        #expect(try HeaderPolicy.forwardable(caller).map(\.name) == ["X-Custom"])
        let provider = ["SET-COOKIE", "Set-Cookie2", "Latchkey-Request-Id", "CONNECTION", "Content-Length", "Content-Type", "X-Latchkey"]
            .map { OutboundHeader(name: $0, value: "v") }
        #expect(HeaderPolicy.returnable(provider).map(\.name) == ["Content-Type", "X-Latchkey"])
    }

    @Test func namesThatDifferByALetterOrInLengthAreOtherNames() throws {
        let caller = ["Tf", "X-Forwarded-Fox", "Cookie3", "Hosts", "Latchkey", "Authorizatio"].map { OutboundHeader(name: $0, value: "v") }
        #expect(try HeaderPolicy.forwardable(caller).map(\.name) == caller.map(\.name))
    }

    /// Each set is one comma-separated literal: its first, inner and last names all match, and no name is matched by a
    /// piece of two neighbours or by a part of one (a caller's names are tokens; a provider's are not checked, so one of
    /// them may even hold the separator).
    @Test func everyNameOfASetMatchesAndNoPieceOfOne() throws {
        let dropped = ["Connection", "Proxy-Authorization", "Expect", "Authorization", "X-Forwarded-Host", "X-Real-IP"]
        let kept = ["ConnectionKeep-Alive", "eTrailer", "Expec", "pect", "Real-Ip", "Keep", "Forwarded-For", "Authorizationx"]
        let caller = (dropped + kept).map { OutboundHeader(name: $0, value: "v") }
        #expect(try HeaderPolicy.forwardable(caller).map(\.name) == kept)
        let provider = ["Set-Cookie2", "set-cookie", "Set-Cookie,Set", "Set-Cookie22"].map { OutboundHeader(name: $0, value: "v") }
        #expect(HeaderPolicy.returnable(provider).map(\.name) == ["Set-Cookie,Set", "Set-Cookie22"])
    }

    /// `keep-alive` or `close` alone names no header; anything longer is read token by token.
    @Test(arguments: ["KEEP-ALIVE", "close", "Close"])
    func aConnectionThatSaysOnlyKeepAliveOrCloseDropsNothingElse(value: String) {
        let provider = [OutboundHeader(name: "Connection", value: value), OutboundHeader(name: "X-A", value: "1")]
        #expect(HeaderPolicy.returnable(provider).map(\.name) == ["X-A"])
    }

    @Test func aConnectionTokenThatMerelyBeginsLikeKeepAliveIsAHeaderName() {
        let provider = [
            OutboundHeader(name: "Connection", value: "keep-alive-x"), OutboundHeader(name: "Keep-Alive-X", value: "1"),
            OutboundHeader(name: "X-A", value: "1"),
        ]
        #expect(HeaderPolicy.returnable(provider).map(\.name) == ["X-A"])
    }
}
