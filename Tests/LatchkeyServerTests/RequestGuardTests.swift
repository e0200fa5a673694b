import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import Testing

@testable import LatchkeyServer

/// The one handler on every connection: the deadlines (the interop suite's hostile-traffic tests time them) and the
/// answer to what the codec cannot parse.
@Suite struct RequestGuardTests {
    /// The deadline check holds its handler strongly (a weak reference made every event through the handler dearer); a
    /// closed connection still lets it go.
    @Test func aClosedConnectionReleasesItsDeadlines() throws {
        // The loop outlives the connection, as a server's does: a check still scheduled on it would keep its handler.
        let loop = EmbeddedEventLoop()
        weak var deadlines: RequestGuard?
        do {
            let channel = EmbeddedChannel(loop: loop)
            let strongDeadlines = RequestGuard(limits: HTTPServerLimits())
            try channel.pipeline.syncOperations.addHandler(strongDeadlines)
            // Active: the header deadline's check is scheduled. A read ends with no head: the header deadline runs.
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            channel.pipeline.fireChannelReadComplete()
            deadlines = strongDeadlines
            #expect(deadlines != nil)
            try channel.close().wait()
            loop.run()
        }
        #expect(deadlines == nil)
    }

    @Test func aRequestTheCodecCannotParseGetsAJSON400AndTheConnectionCloses() throws {
        let channel = try Self.guardedChannel()
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidMethod)
        guard case .head(let head) = try channel.readOutbound(as: HTTPResponsePart.self) else {
            Issue.record("no head was written")
            return
        }
        #expect(head.status == .badRequest)
        #expect(head.headerFields[.contentType] == "application/json")
        #expect(head.headerFields[.connection] == "close")
        guard case .body(let body) = try channel.readOutbound(as: HTTPResponsePart.self) else {
            Issue.record("no body was written")
            return
        }
        #expect(String(buffer: body).hasPrefix(#"{"error":{"code":"invalid_request","message":"the request is not valid HTTP/1.1"#))
        #expect(head.headerFields[.contentLength] == "\(body.readableBytes)")
        #expect(try channel.readOutbound(as: HTTPResponsePart.self) == .end(nil))
        #expect(!channel.isActive)
    }

    @Test func aParseErrorWhileAResponseIsGoingOutOnlyClosesTheConnection() throws {
        let channel = try Self.guardedChannel()
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        _ = try channel.readOutbound(as: HTTPResponsePart.self)
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidMethod)
        #expect(try channel.readOutbound(as: HTTPResponsePart.self) == nil)
        #expect(!channel.isActive)
    }

    @Test func aParseErrorAfterAWholeResponseIsAnswered() throws {
        let channel = try Self.guardedChannel()
        // A 100 Continue is no response yet; a whole response is over by its end.
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .continue)))
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        for _ in 0..<3 { _ = try channel.readOutbound(as: HTTPResponsePart.self) }
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidMethod)
        guard case .head(let head) = try channel.readOutbound(as: HTTPResponsePart.self) else {
            Issue.record("no head was written")
            return
        }
        #expect(head.status == .badRequest)
    }

    @Test func anyOtherErrorIsPassedOnUnanswered() throws {
        let channel = try Self.guardedChannel()
        #expect(throws: ChannelError.self) {
            channel.pipeline.fireErrorCaught(ChannelError.ioOnClosedChannel)
            try channel.throwIfErrorCaught()
        }
        #expect(try channel.readOutbound(as: HTTPResponsePart.self) == nil)
        #expect(channel.isActive)
    }

    private static func guardedChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(RequestGuard(limits: HTTPServerLimits()))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }
}
