import LatchkeyObservability
import Logging
import Synchronization
import Testing

/// Latchkey's log lines read as swift-log's stream handler writes them, and cost nothing until one is written.
@Suite struct StandardErrorLogHandlerTests {
    @Test func linesAreThoseOfSwiftLogsStreamHandler() {
        let ours = Lines()
        let theirs = Lines()
        for (logger, lines) in [
            (Logger(label: "latchkey") { StandardErrorLogHandler(label: $0, output: ours.append) }, ours),
            (Logger(label: "latchkey") { StreamLogHandler(label: $0, stream: Capture(lines: theirs)) }, theirs),
        ] {
            var logger = logger
            logger[metadataKey: "b"] = "2"
            logger[metadataKey: "a"] = .stringConvertible(42)
            logger.warning("proxy response body cut short", metadata: ["c": "3", "b": "overridden"], source: "LatchkeyServer")
            logger.info("no metadata of its own")
            logger.debug("below the level: not written")
            #expect(lines.all.count == 2)
        }
        // The local time leads each line; the rest is the same.
        let withoutTime = { (lines: Lines) in lines.all.map { $0.drop { $0 != " " } } }
        #expect(withoutTime(ours) == withoutTime(theirs))
        #expect(withoutTime(ours).first == " warning latchkey: a=42 b=overridden c=3 [LatchkeyServer] proxy response body cut short\n")
        #expect(ours.all.first?.prefix(4).allSatisfy(\.isNumber) == true)
    }

    @Test func metadataIsPutIntoWordsOnlyWhenALineIsWritten() {
        let lines = Lines()
        var logger = Logger(label: "latchkey") { StandardErrorLogHandler(label: $0, output: lines.append) }
        logger.logLevel = .warning
        let id = CountedDescription()
        logger[metadataKey: "hb.request.id"] = .stringConvertible(id)
        logger.info("below the level")
        #expect(id.count == 0)
        logger.warning("written")
        #expect(id.count == 1)
        #expect(lines.all.first?.contains("hb.request.id=request-7 [") == true)
    }
}

/// Lines handed over, in order.
private final class Lines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }

    @Sendable func append(_ line: String) {
        lines.withLock { $0.append(line) }
    }
}

/// A stream for swift-log's handler, writing into `lines`.
private struct Capture: TextOutputStream, Sendable {
    let lines: Lines

    mutating func write(_ string: String) {
        lines.append(string)
    }
}

/// A metadata value that counts how often it was put into words.
private final class CountedDescription: CustomStringConvertible, Sendable {
    private let described = Atomic<Int>(0)
    var count: Int { described.load(ordering: .relaxed) }

    var description: String {
        described.add(1, ordering: .relaxed)
        return "request-7"
    }
}
