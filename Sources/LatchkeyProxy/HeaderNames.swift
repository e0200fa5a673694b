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

    init(_ list: StaticString) {
        self.list = list
    }

    func contains(_ name: String) -> Bool {
        let count = name.utf8.count
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
