import LatchkeyModel
import Testing

@testable import LatchkeyRemoteMCP

/// Server-sent events read as they arrive: split anywhere, `\r\n` or `\n`, several `data:` lines, non-JSON skipped.
@Suite struct SSEDecoderTests {
    static let stream = Array(
        "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\r\ndata: \"method\":\"notifications/tools/list_changed\"}\r\n\r\n: a comment\n\ndata: not json\n\ndata:{\"id\":7}\n\n".utf8)

    @Test(arguments: [1, 2, 3, 5, 8, 13, 1000])
    func theSameMessagesComeOutHoweverTheStreamIsCut(chunk: Int) {
        var decoder = SSEDecoder()
        var messages: [JSONValue] = []
        var rest = Self.stream[...]
        while !rest.isEmpty {
            messages += decoder.feed(rest.prefix(chunk))
            rest = rest.dropFirst(chunk)
        }
        messages += decoder.finish()
        #expect(messages.map { $0.objectValue?["method"]?.stringValue ?? $0.objectValue?["id"]?.numberValue.map { "\($0)" } } == [
            "notifications/tools/list_changed", "7.0",
        ])
    }

    @Test func anEventTheStreamEndsInsideIsStillRead() {
        var decoder = SSEDecoder()
        #expect(decoder.feed(Array("data: {\"id\":1}".utf8)).isEmpty)
        #expect(decoder.finish() == [.object(["id": .number(1)])])
    }
}
