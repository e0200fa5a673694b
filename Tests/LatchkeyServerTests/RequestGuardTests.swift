import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import Testing

@testable import LatchkeyServer

/// The one handler on every connection: NIO's parts in Swift HTTP Types' terms, the deadlines (the interop suite's
/// hostile-traffic tests time them), the answer to what the codec cannot parse, and a graceful shutdown.
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
        try Self.expectJSON400(on: channel, message: "the request is not valid HTTP/1.1")
    }

    @Test func aRequestLineHTTPTypesRefuseGetsAJSON400AndTheConnectionCloses() throws {
        let channel = try Self.guardedChannel()
        // The codec parses a method HTTP Types do not take as a token.
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .RAW(value: "G(T"), uri: "/")))
        #expect(try channel.readInbound(as: HTTPRequestPart.self) == nil)
        try Self.expectJSON400(on: channel, message: "the request line or a header is not valid HTTP")
    }

    @Test func requestsAndResponsesCrossInSwiftHTTPTypes() throws {
        let channel = try Self.guardedChannel()
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/proxy/github/user?x=1")
        head.headers.add(name: "Host", value: "latchkey.test")
        head.headers.add(name: "Authorization", value: "Bearer k")
        try channel.writeInbound(HTTPServerRequestPart.head(head))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "{}")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        guard case .head(let request) = try channel.readInbound(as: HTTPRequestPart.self) else {
            Issue.record("no head was read")
            return
        }
        #expect(request.method == .post)
        #expect(request.path == "/v1/proxy/github/user?x=1")
        #expect(request.authority == "latchkey.test")
        #expect(request.headerFields[.authorization] == "Bearer k")
        #expect(try channel.readInbound(as: HTTPRequestPart.self) == .body(ByteBuffer(string: "{}")))
        #expect(try channel.readInbound(as: HTTPRequestPart.self) == .end(nil))

        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .created, headerFields: [.contentType: "application/json"])))
        try channel.writeOutbound(HTTPResponsePart.body(ByteBuffer(string: "[]")))
        try channel.writeOutbound(HTTPResponsePart.end([HTTPField.Name("Server-Timing")!: "x"]))
        guard case .head(let response) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no head was written")
            return
        }
        #expect(response.status == .created)
        #expect(response.headers["Content-Type"] == ["application/json"])
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == .body(.byteBuffer(ByteBuffer(string: "[]"))))
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == .end(HTTPHeaders([("Server-Timing", "x")])))
        #expect(channel.isActive)
    }

    @Test func aShutdownClosesAnIdleConnectionAtOnce() throws {
        let channel = try Self.guardedChannel()
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!channel.isActive)
    }

    @Test func aShutdownLetsTheRequestInProgressBeAnsweredThenCloses() throws {
        let channel = try Self.guardedChannel()
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/healthz")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        #expect(!channel.isActive)
        guard case .head(let response) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("the answer was not written")
            return
        }
        #expect(response.status == .ok)
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == .end(nil))
    }

    @Test func aParseErrorWhileAResponseIsGoingOutOnlyClosesTheConnection() throws {
        let channel = try Self.guardedChannel()
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        _ = try channel.readOutbound(as: HTTPServerResponsePart.self)
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidMethod)
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
        #expect(!channel.isActive)
    }

    @Test func aParseErrorAfterAWholeResponseIsAnswered() throws {
        let channel = try Self.guardedChannel()
        // A 100 Continue is no response yet; a whole response is over by its end.
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .continue)))
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        for _ in 0..<3 { _ = try channel.readOutbound(as: HTTPServerResponsePart.self) }
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidMethod)
        guard case .head(let head) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
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
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
        #expect(channel.isActive)
    }

    /// The guard's own answer, in NIO's parts as the encoder takes them, and the connection closed.
    private static func expectJSON400(on channel: EmbeddedChannel, message: String) throws {
        guard case .head(let head) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no head was written")
            return
        }
        #expect(head.status == .badRequest)
        #expect(head.headers["Content-Type"] == ["application/json"])
        #expect(head.headers["Connection"] == ["close"])
        guard case .body(.byteBuffer(let body)) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no body was written")
            return
        }
        #expect(String(buffer: body).hasPrefix(#"{"error":{"code":"invalid_request","message":"\#(message)"#))
        #expect(head.headers["Content-Length"] == ["\(body.readableBytes)"])
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == .end(nil))
        #expect(!channel.isActive)
    }

    private static func guardedChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(RequestGuard(limits: HTTPServerLimits()))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }
}
