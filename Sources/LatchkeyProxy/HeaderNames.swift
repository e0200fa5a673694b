import LatchkeyHTTP

/// A fixed set of header names, matched without regard to the case of ASCII letters and without lowercasing the name
/// asked about: the proxy asks of every header of every call, both ways, and lowercasing each name made a string per
/// header (benchmarks/README.md).
///
/// The names are one literal, in lowercase and separated by commas, read where the compiler put it: asking retains
/// nothing, where a set kept in arrays retained them on every name asked about (about 25 retains a proxied call,
/// benchmarks/README.md, session 24).
struct HeaderNames: Sendable {
    /// The names in lowercase, separated by commas, without spaces.
    private let list: StaticString
    /// Bit n is set when some name is n bytes long (bit 63: 63 or more): most names asked about are refused by their
    /// length alone, without reading the list.
    private let lengths: UInt64

    init(_ list: StaticString) {
        // Written once per set, at its first use: a capital letter or a space would make a name that never matches.
        precondition(
            list.withUTF8Buffer { !$0.contains { $0 == UInt8(ascii: " ") || OutboundHeader.lowercasedASCII($0) != $0 } },
            "HeaderNames takes lowercase names separated by commas alone")
        self.list = list
        lengths = list.withUTF8Buffer { list in
            list.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).reduce(0) { $0 | (1 << min($1.count, 63)) }
        }
    }

    func contains(_ name: String) -> Bool {
        let count = name.utf8.count
        guard lengths & (1 << min(count, 63)) != 0 else { return false }
        return list.withUTF8Buffer { list in
            var start = 0
            while start < list.count {
                var end = start
                while end < list.count, list[end] != UInt8(ascii: ",") { end += 1 }
                if end - start == count, OutboundHeader.name(name, matches: UnsafeBufferPointer(rebasing: list[start..<end])) {
                    return true
                }
                start = end + 1
            }
            return false
        }
    }
}
