import LatchkeyHTTP
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
}
