import Crypto
import Foundation
import LatchkeyHTTP
import Testing

/// Streamed transfers: the head comes back before the body ends, the body arrives in chunks under
/// backpressure and within the cap, and a request body can be written while it is sent.
@Suite struct StreamingTests {
    @Test(arguments: Client.allCases) func headAndFirstChunkArriveWhileTheServerStillHoldsTheRestOfTheBody(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        // The server sends the head and one line, then waits until this test opens its gate: a client that waited
        // for the whole body would never return from `stream`, and the test would end on the server's own timeout
        // with `gate-timeout` instead of `after-gate`.
        let response = try await client.stream(OutboundRequest(url: "\(server.base)/gate?id=head"), upload: nil)
        #expect(response.status == 200)
        var lines = response.body.makeAsyncIterator()
        let first = try #require(try await lines.next())
        #expect(String(decoding: first, as: UTF8.self) == "before-gate\n")
        #expect(try await client.send(OutboundRequest(url: "\(server.base)/open?id=head")).status == 204)
        var rest = ""
        while let chunk = try await lines.next() { rest += String(decoding: chunk, as: UTF8.self) }
        #expect(rest == "after-gate\n")
    }

    @Test(arguments: Client.allCases) func chunksFollowInOrderAsTheyAreSent(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let response = try await client.stream(OutboundRequest(url: "\(server.base)/drip?chunks=4&ms=50"), upload: nil)
        #expect(response.status == 200)
        var text = ""
        for try await chunk in response.body { text += String(decoding: chunk, as: UTF8.self) }
        #expect(text == "chunk-0\nchunk-1\nchunk-2\nchunk-3\n")
    }

    @Test(arguments: Client.allCases) func aSlowReaderPausesTheTransferAndStillGetsEveryByte(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let size = 4 * 1024 * 1024
        let response = try await client.stream(
            OutboundRequest(url: "\(server.base)/big?bytes=\(size)&chunked=1", maxResponseBytes: size), upload: nil)
        var iterator = response.body.makeAsyncIterator()
        var received = try #require(try await iterator.next()).count
        // Reading nothing for a while: curl must pause instead of buffering the whole body.
        try await Task.sleep(for: .milliseconds(300))
        while let chunk = try await iterator.next() {
            #expect(chunk.allSatisfy { $0 == UInt8(ascii: "x") })
            received += chunk.count
        }
        #expect(received == size)
        // The connection went back to the pool in a usable state.
        let again = try await client.send(OutboundRequest(url: "\(server.base)/status/204"))
        #expect(again.status == 204)
    }

    @Test(arguments: Client.allCases, [false, true])
    func aBodyPastTheCapFailsTheStream(_ kind: Client, chunked: Bool) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let request = OutboundRequest(
            url: "\(server.base)/big?bytes=300000\(chunked ? "&chunked=1" : "")", maxResponseBytes: 100_000)
        await #expect {
            let response = try await client.stream(request, upload: nil)
            for try await _ in response.body {}
        } throws: { error in
            (error as? OutboundError)?.code == .responseTooLarge
        }
    }

    @Test(arguments: Client.allCases) func cancellingTheBodyEndsItAndTheClientGoesOn(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let response = try await client.stream(OutboundRequest(url: "\(server.base)/drip?chunks=50&ms=100"), upload: nil)
        var iterator = response.body.makeAsyncIterator()
        _ = try await iterator.next()
        response.body.cancel()
        #expect(try await iterator.next() == nil)
        let again = try await client.send(OutboundRequest(url: "\(server.base)/status/200"))
        #expect(again.status == 200)
    }

    @Test(arguments: Client.allCases) func aChunkedUploadIsSentWhileItIsWritten(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let upload = OutboundUpload(length: nil)
        let chunks = (0..<12).map { i in [UInt8](repeating: UInt8(65 + i), count: 100_000) }
        let writer = Task {
            for chunk in chunks {
                try await upload.write(chunk)
                try await Task.sleep(for: .milliseconds(10))
            }
            upload.finish()
        }
        let response = try await client.stream(
            OutboundRequest(method: "PUT", url: "\(server.base)/sink", headers: [OutboundHeader(name: "Content-Type", value: "application/octet-stream")]),
            upload: upload
        ).collected(upTo: 10_000)
        try await writer.value
        let sink = try JSONDecoder().decode(Sink.self, from: Data(response.body))
        let all = chunks.flatMap { $0 }
        #expect(sink.bytes == all.count)
        #expect(sink.sha256 == SHA256.hash(data: all).map { String(format: "%02x", $0) }.joined())
        #expect(sink.chunked)
    }

    @Test(arguments: Client.allCases) func anUploadOfKnownLengthSendsContentLength(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let upload = OutboundUpload(length: 5)
        let writer = Task {
            try await upload.write(Array("hel".utf8))
            try await upload.write(Array("lo".utf8))
            upload.finish()
        }
        let response = try await client.stream(OutboundRequest(method: "POST", url: "\(server.base)/sink"), upload: upload)
            .collected(upTo: 10_000)
        try await writer.value
        let sink = try JSONDecoder().decode(Sink.self, from: Data(response.body))
        #expect(sink.bytes == 5)
        #expect(!sink.chunked)
        #expect(sink.content_length == "5")
    }

    @Test(arguments: Client.allCases) func aFailedUploadAbortsTheRequestInsteadOfSendingItShort(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let upload = OutboundUpload(length: nil)
        let writer = Task {
            try await upload.write([UInt8](repeating: 1, count: 1000))
            try await Task.sleep(for: .milliseconds(50))
            upload.fail()
        }
        await #expect {
            _ = try await client.stream(OutboundRequest(method: "POST", url: "\(server.base)/sink"), upload: upload)
        } throws: { error in
            (error as? OutboundError)?.code == .transport
        }
        try await writer.value
        // Writing after the end is refused.
        await #expect(throws: OutboundError.self) { try await upload.write([1]) }
    }

    @Test(arguments: Client.allCases) func aStreamedResponseCollectsToWhatSendReturns(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        let request = OutboundRequest(url: "\(server.base)/multi")
        let streamed = try await client.stream(request, upload: nil).collected(upTo: 1000)
        let sent = try await client.send(request)
        #expect(streamed.status == sent.status)
        #expect(streamed.headers.filter { $0.name != "Date" } == sent.headers.filter { $0.name != "Date" })
        #expect(streamed.body == sent.body)
    }
}

private struct Sink: Decodable {
    var bytes: Int
    var sha256: String
    var chunked: Bool
    var content_length: String?
}
