import NIOCore
import NIOEmbedded
import Testing

@testable import LatchkeyServer

/// A connection's deadline handlers hold each other, and the deadline check holds its handler, strongly (a weak
/// reference made every event through the handler dearer); a closed connection still lets them all go.
@Suite struct RequestDeadlinesTests {
    /// Swallows the bytes `IncomingBytes` passes on: the deadlines after it read decoded HTTP parts, not bytes.
    final class Sink: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
    }

    @Test func aClosedConnectionReleasesItsDeadlines() throws {
        // The loop outlives the connection, as a server's does: a check still scheduled on it would keep its handler.
        let loop = EmbeddedEventLoop()
        weak var deadlines: RequestDeadlines?
        weak var bytes: IncomingBytes?
        do {
            let channel = EmbeddedChannel(loop: loop)
            let strongDeadlines = RequestDeadlines(limits: HTTPServerLimits())
            let strongBytes = IncomingBytes()
            try channel.pipeline.syncOperations.addHandler(strongBytes)
            try channel.pipeline.syncOperations.addHandler(Sink())
            try channel.pipeline.syncOperations.addHandler(strongDeadlines)
            // Active: the header deadline's check is scheduled. A first byte: the bytes' handler finds the deadlines.
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            try channel.writeInbound(ByteBuffer(string: "G"))
            deadlines = strongDeadlines
            bytes = strongBytes
            #expect(deadlines != nil && bytes != nil)
            try channel.close().wait()
            loop.run()
        }
        #expect(deadlines == nil)
        #expect(bytes == nil)
    }
}
