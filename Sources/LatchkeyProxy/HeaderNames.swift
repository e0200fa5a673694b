import LatchkeyHTTP

/// A set of header names, matched without regard to the case of ASCII letters and without lowercasing the name asked
/// about: the proxy asks for every header of every call, both ways, and lowercasing each name made a string per header
/// (benchmarks/README.md).
struct HeaderNames: Sendable {
    /// The names in lowercase, by their length in bytes.
    private let byLength: [[[UInt8]]]

    init(_ names: [String]) {
        var byLength = [[[UInt8]]](repeating: [], count: (names.map(\.utf8.count).max() ?? 0) + 1)
        for name in names {
            byLength[name.utf8.count].append(name.utf8.map(OutboundHeader.lowercasedASCII))
        }
        self.byLength = byLength
    }

    func contains(_ name: String) -> Bool {
        let count = name.utf8.count
        guard count < byLength.count else { return false }
        return byLength[count].contains { OutboundHeader.name(name, matches: $0) }
    }
}
