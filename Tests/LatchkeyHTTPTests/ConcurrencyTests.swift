import Foundation
import LatchkeyHTTP
import Testing

/// Many callers share one client; cancellation and shutdown end transfers promptly.
@Suite struct ConcurrencyTests {
    @Test(arguments: Client.allCases) func twoHundredConcurrentRequestsAllSucceed(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let statuses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for index in 0..<200 {
                group.addTask {
                    let response = try await client.send(OutboundRequest(url: "\(server.base)/echo?i=\(index)"))
                    return (response.status, try Echo(response).target)
                }
            }
            var results: [(Int, String)] = []
            for try await result in group { results.append(result) }
            return results
        }
        #expect(statuses.count == 200)
        #expect(statuses.allSatisfy { $0.0 == 200 })
        #expect(Set(statuses.map(\.1)).count == 200)  // each caller got its own response
    }

    @Test(arguments: Client.allCases) func sequentialRequestsReuseOneConnection(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        for index in 0..<50 {
            let response = try await client.send(OutboundRequest(url: "\(server.base)/echo?i=\(index)"))
            #expect(response.status == 200)
        }
        let ports = try await client.send(OutboundRequest(url: "\(server.base)/ports"))
        let count = try JSONDecoder().decode([String: Int].self, from: Data(ports.body))["count"] ?? .max
        #expect(count <= 2, "50 sequential requests used \(count) connections")
    }

    @Test(arguments: Client.allCases) func cancellingTheTaskEndsASlowRequestPromptly(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let task = Task {
            try await client.send(OutboundRequest(url: "\(server.base)/slow?ms=5000"))
        }
        try await server.slowRequests(atLeast: 1)
        task.cancel()
        let result = await task.result
        // Had the cancel not reached the transfer, the 5 s answer would have arrived and the call would have succeeded.
        #expect(throws: CancellationError.self) { try result.get() }
        // The client still works afterwards.
        #expect(try await client.send(OutboundRequest(url: "\(server.base)/status/204")).status == 204)
    }

    @Test(arguments: Client.allCases) func alreadyCancelledTaskThrowsWithoutSending(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await client.send(OutboundRequest(url: "\(server.base)/echo"))
        }
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        let ports = try await client.send(OutboundRequest(url: "\(server.base)/ports"))
        #expect(try JSONDecoder().decode([String: Int].self, from: Data(ports.body))["count"] == 1)
    }

    @Test(arguments: Client.allCases) func cancellingManyConcurrentRequestsLeavesNoneHanging(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make(maxConnectionsPerHost: 4)
        // 4 run, the rest queue inside curl for a free connection; all must end on cancel.
        let group = Task {
            await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        do {
                            _ = try await client.send(OutboundRequest(url: "\(server.base)/slow?ms=10000"))
                            return false
                        } catch {
                            return error is CancellationError
                        }
                    }
                }
                var cancelled = 0
                for await wasCancelled in group where wasCancelled { cancelled += 1 }
                return cancelled
            }
        }
        // Four are at the server; the others wait inside curl for a connection.
        try await server.slowRequests(atLeast: 4)
        group.cancel()
        let cancelled = await group.value
        #expect(cancelled == 40)
    }

    @Test(arguments: Client.allCases) func shutdownFailsInFlightAndLaterRequestsAsCancelled(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let inFlight = Task {
            try await client.send(OutboundRequest(url: "\(server.base)/slow?ms=5000"))
        }
        try await server.slowRequests(atLeast: 1)
        client.shutdown()
        let error = await #expect(throws: OutboundError.self) { try await inFlight.value }
        #expect(error?.code == .cancelled)
        let later = await #expect(throws: OutboundError.self) {
            try await client.send(OutboundRequest(url: "\(server.base)/echo"))
        }
        #expect(later?.code == .cancelled)
        client.shutdown()  // idempotent
    }

    @Test(arguments: Client.allCases) func clientsCanBeCreatedAndDroppedRepeatedly(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        for _ in 0..<20 {
            let client = kind.make()
            #expect(try await client.send(OutboundRequest(url: "\(server.base)/status/200")).status == 200)
        }
    }
}
