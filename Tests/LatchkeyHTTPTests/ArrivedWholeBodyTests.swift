@testable import LatchkeyHTTP
import Testing

/// `OutboundBodyStream.arrivedWhole(upTo:)`: a body whose every byte has arrived is taken at once (the proxy then
/// writes it with its head); a body still arriving, failed, abandoned or past the limit is left to stream as it was.
@Suite struct ArrivedWholeBodyTests {
    @Test func aBodyThatEndedIsTakenWholeAndTheStreamThenEnds() async throws {
        let channel = ResponseBodyChannel()
        #expect(channel.deliver(Array("ab".utf8)) == .more)
        #expect(channel.deliver(Array("cd".utf8)) == .more)
        channel.finish(nil)
        let stream = OutboundBodyStream(channel: channel)
        #expect(stream.arrivedWhole(upTo: 4) == Array("abcd".utf8))
        var iterator = stream.makeAsyncIterator()
        #expect(try await iterator.next() == nil)
    }

    @Test func aBodyStillArrivingIsLeftToStream() async throws {
        let channel = ResponseBodyChannel()
        #expect(channel.deliver(Array("ab".utf8)) == .more)
        let stream = OutboundBodyStream(channel: channel)
        #expect(stream.arrivedWhole(upTo: 1024) == nil)
        #expect(channel.deliver(Array("cd".utf8)) == .more)
        channel.finish(nil)
        #expect(try await Self.chunks(of: stream) == ["ab", "cd"])
    }

    @Test func aBodyPastTheLimitIsLeftToStream() async throws {
        let stream = OutboundBodyStream.complete(Array("abcd".utf8))
        #expect(stream.arrivedWhole(upTo: 3) == nil)
        #expect(try await Self.chunks(of: stream) == ["abcd"])
    }

    @Test func aFailedTransferIsLeftToThrowAfterWhatArrived() async throws {
        let channel = ResponseBodyChannel()
        #expect(channel.deliver(Array("ab".utf8)) == .more)
        channel.finish(OutboundError(code: .transport, message: "the peer closed the connection"))
        let stream = OutboundBodyStream(channel: channel)
        #expect(stream.arrivedWhole(upTo: 1024) == nil)
        var iterator = stream.makeAsyncIterator()
        #expect(try await iterator.next() == Array("ab".utf8))
        await #expect { _ = try await iterator.next() } throws: { ($0 as? OutboundError)?.code == .transport }
    }

    @Test func aBodyPartlyReadGivesTheRest() async throws {
        let channel = ResponseBodyChannel()
        #expect(channel.deliver(Array("ab".utf8)) == .more)
        #expect(channel.deliver(Array("cd".utf8)) == .more)
        #expect(channel.deliver(Array("ef".utf8)) == .more)
        channel.finish(nil)
        let stream = OutboundBodyStream(channel: channel)
        var iterator = stream.makeAsyncIterator()
        #expect(try await iterator.next() == Array("ab".utf8))
        #expect(stream.arrivedWhole(upTo: 4) == Array("cdef".utf8))
        #expect(try await iterator.next() == nil)
    }

    @Test func aCancelledBodyGivesNothing() async throws {
        let stream = OutboundBodyStream.complete(Array("abcd".utf8))
        stream.cancel()
        #expect(stream.arrivedWhole(upTo: 1024) == nil)
    }

    @Test func anEmptyBodyIsTakenAsNoBytes() async throws {
        let stream = OutboundBodyStream.complete([])
        #expect(stream.arrivedWhole(upTo: 0) == [])
    }

    @Test(arguments: Client.allCases) func aBodyTheServerStillHoldsIsNotTakenAndStillStreams(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        let client = kind.make()
        // The server sends the head and one line, then holds the rest until the gate opens: the body cannot have
        // ended, so nothing is taken, and every byte still arrives through the stream.
        let response = try await client.stream(OutboundRequest(url: "\(server.base)/gate?id=whole"), upload: nil)
        #expect(response.body.arrivedWhole(upTo: 1 << 20) == nil)
        var lines = response.body.makeAsyncIterator()
        #expect(try await lines.next() == Array("before-gate\n".utf8))
        #expect(try await client.send(OutboundRequest(url: "\(server.base)/open?id=whole")).status == 204)
        var rest: [UInt8] = []
        while let chunk = try await lines.next() { rest += chunk }
        #expect(String(decoding: rest, as: UTF8.self) == "after-gate\n")
    }

    private static func chunks(of stream: OutboundBodyStream) async throws -> [String] {
        var chunks: [String] = []
        for try await chunk in stream { chunks.append(String(decoding: chunk, as: UTF8.self)) }
        return chunks
    }
}
