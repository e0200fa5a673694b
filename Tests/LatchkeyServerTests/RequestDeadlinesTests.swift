import NIOCore
import NIOEmbedded
import Testing

@testable import LatchkeyServer

/// The deadline check holds its handler strongly (a weak reference made every event through the handler dearer); a
/// closed connection still lets it go.
@Suite struct RequestDeadlinesTests {
    @Test func aClosedConnectionReleasesItsDeadlines() throws {
        // The loop outlives the connection, as a server's does: a check still scheduled on it would keep its handler.
        let loop = EmbeddedEventLoop()
        weak var deadlines: RequestDeadlines?
        do {
            let channel = EmbeddedChannel(loop: loop)
            let strongDeadlines = RequestDeadlines(limits: HTTPServerLimits())
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
}
