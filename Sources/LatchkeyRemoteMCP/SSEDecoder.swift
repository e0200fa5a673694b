import LatchkeyModel

/// Reads server-sent events as they arrive, by bytes (as Characters, `\r\n` is one grapheme and would never split at
/// `\n`): each event's `data:` lines, joined, as a JSON message. Events whose data is not JSON are skipped.
struct SSEDecoder {
    private var line: [UInt8] = []
    private var data: [String] = []

    /// The messages completed by `bytes`.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [JSONValue] {
        var messages: [JSONValue] = []
        for byte in bytes {
            guard byte == UInt8(ascii: "\n") else {
                line.append(byte)
                continue
            }
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            if line.isEmpty {
                if let message = flush() { messages.append(message) }
            } else if line.starts(with: Array("data:".utf8)) {
                var value = line.dropFirst(5)
                if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
                data.append(String(decoding: value, as: UTF8.self))
            }
            line.removeAll(keepingCapacity: true)
        }
        return messages
    }

    /// The message of an event the stream ended without closing.
    mutating func finish() -> [JSONValue] {
        var messages = feed([UInt8(ascii: "\n")])
        if let message = flush() { messages.append(message) }
        return messages
    }

    private mutating func flush() -> JSONValue? {
        defer { data = [] }
        guard !data.isEmpty else { return nil }
        return JSONValue.parse(Array(data.joined(separator: "\n").utf8))
    }
}
