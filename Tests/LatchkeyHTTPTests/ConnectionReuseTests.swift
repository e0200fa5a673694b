import Foundation
import LatchkeyHTTP
import Testing

/// Keep-alive connections are reused under load, and a pooled connection the peer closed never fails a call.
@Suite struct ConnectionReuseTests {
    /// Distinct client ports the server has seen: the connections opened to it.
    private func connections(_ client: any HTTPTransport, _ server: LoopbackServer) async throws -> Int {
        let ports = try await client.send(OutboundRequest(url: "\(server.base)/ports"))
        return try JSONDecoder().decode([String: Int].self, from: Data(ports.body))["count"] ?? .max
    }

    @Test(arguments: Client.allCases) func roundsOfConcurrentCallsReuseTheirConnections(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make(maxConnectionsPerHost: 32)
        defer { client.shutdown() }
        for round in 0..<6 {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<24 {
                    group.addTask { try await client.send(OutboundRequest(url: "\(server.base)/echo?r=\(round)&i=\(index)")).status }
                }
                for try await status in group { #expect(status == 200) }
            }
        }
        // 144 calls, at most 24 at once: about 24 connections, never one per call (the bound is twice the concurrency).
        let opened = try await connections(client, server)
        #expect(opened <= 48, "144 calls in rounds of 24 opened \(opened) connections")
    }

    @Test(arguments: Client.allCases) func aPooledConnectionThePeerClosedIsReplacedWithoutFailingTheCall(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        defer { client.shutdown() }
        for _ in 0..<20 {
            // Each answer leaves a connection in the pool that the server then closes; the next call must not fail on it.
            let response = try await client.send(OutboundRequest(url: "\(server.base)/answer-then-close"))
            #expect(response.status == 200)
            #expect(response.body == Array("answered".utf8))
        }
    }

    /// A request whose URL a third party named (an MCP server's metadata) connects to the address it checked, on a
    /// connection of its own: never one another request opened, and never kept for another.
    @Test(arguments: Client.allCases) func aRequestUnderTheNarrowAddressPolicyNeverSharesAConnection(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        defer { client.shutdown() }
        _ = try await client.send(OutboundRequest(url: "\(server.base)/echo"))  // one pooled connection of the wide policy
        for _ in 0..<5 {
            let response = try await client.send(OutboundRequest(url: "\(server.base)/echo", addressPolicy: .publicOnly(allowing: [])))
            #expect(response.status == 200)
        }
        // The first connection, five of their own, and the one this question reuses or opens.
        let opened = try await connections(client, server)
        #expect(opened >= 6 && opened <= 7, "\(opened) connections")
        // Only the wide policy's connections wait in the pool, and the five narrow ones close after their answer.
        if let eventLoop = client as? EventLoopHTTPClient {
            #expect(eventLoop.idleConnections == opened - 5)
            while eventLoop.openConnections > eventLoop.idleConnections { try await Task.sleep(for: .milliseconds(5)) }
        }
    }

    @Test func anIdleConnectionClosesAfterTheIdleTimeout() async throws {
        let server = try await LoopbackServer.start()
        let client = try EventLoopHTTPClient(group: .singletonMultiThreadedEventLoopGroup, idleTimeout: .milliseconds(300))
        defer { client.shutdown() }
        for _ in 0..<10 { _ = try await client.send(OutboundRequest(url: "\(server.base)/echo")) }
        // However long the machine takes to get there, every connection closes once it has sat idle for the timeout.
        while client.openConnections > 0 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(client.idleConnections == 0)
        #expect(try await client.send(OutboundRequest(url: "\(server.base)/echo")).status == 200)
    }

    @Test func theEventLoopClientKeepsItsIdleConnectionsAndClosesThemOnShutdown() async throws {
        let server = try await LoopbackServer.start()
        let client = try EventLoopHTTPClient(group: .singletonMultiThreadedEventLoopGroup)
        for _ in 0..<3 { _ = try await client.send(OutboundRequest(url: "\(server.base)/echo")) }
        #expect(client.idleConnections >= 1)
        client.shutdown()
        #expect(client.idleConnections == 0)
        let error = await #expect(throws: OutboundError.self) {
            try await client.send(OutboundRequest(url: "\(server.base)/echo"))
        }
        #expect(error?.code == .cancelled)
    }
}
