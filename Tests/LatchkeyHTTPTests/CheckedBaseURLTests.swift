import Testing

@testable import LatchkeyHTTP

/// A call's URL built on a parsed base is what curl's URL API would make of the whole URL, whether or not it was parsed
/// again.
@Suite struct CheckedBaseURLTests {
    @Test(arguments: [
        ("https://api.github.com", true),
        ("https://www.googleapis.com/drive/v3", true),
        ("http://127.0.0.1:8080", true),
        ("http://[::1]:9000/x", true),
        ("https://h.example/v1/", true),
        // Anything curl would give back otherwise is parsed again on every call.
        ("HTTPS://api.github.com", false),
        ("https://API.github.com", false),
        ("https://api.github.com:443", false),
        ("https://user@api.github.com", false),
        ("https://h.example/a/../b", false),
        ("https://h.example/a/./b", false),
        ("https://h.example/v1?x=1", false),
        ("https://h.example/v1?", false),
        ("https://h.example/v1#f", false),
        ("http://127.1", false),
        ("http://[0:0:0:0:0:0:0:1]:9000", false),
    ])
    func aBaseIsKeptAsParsedOnlyWhenCurlGivesItBackAsWritten(base: String, verbatim: Bool) throws {
        #expect(try CheckedBaseURL(base).verbatim == verbatim)
    }

    @Test(arguments: ["repos/a/b", "a;v=1/b", "packages/@scope/name", "x%20y", ".../x", "a.b/.c/d..", "v1:batch", ""])
    func plainPathsNeedNoSecondParse(path: String) {
        #expect(CheckedBaseURL.isPlain(path, inQuery: false))
    }

    @Test(arguments: [".", "..", "a/..", "a/./b", "../a", "a/%2e", "a/%2E%2e/b", "a b", "a#b", "a\\b", "a?b", "é", "a\tb", "a\"b", "a<b"])
    func pathsCurlMightChangeAreParsedAgain(path: String) {
        #expect(!CheckedBaseURL.isPlain(path, inQuery: false))
    }

    @Test func queriesMayHoldQueryMarksAndSlashesButNoSpaces() {
        #expect(CheckedBaseURL.isPlain("q=a/b?c&d=..", inQuery: true))
        #expect(!CheckedBaseURL.isPlain("q=a b", inQuery: true))
        #expect(!CheckedBaseURL.isPlain("q=a#b", inQuery: true))
    }

    /// Thousands of paths and queries drawn from URL bytes, plain ones and ones curl treats specially, on bases kept and
    /// bases parsed again: each URL, its origin and its request target are the same as from a parse of the whole URL.
    @Test func everyAppendedURLIsWhatCurlParsesFromTheWholeURL() throws {
        let bases = [
            "https://api.github.com", "https://www.googleapis.com/drive/v3", "http://127.0.0.1:8080", "http://[::1]:9000/x",
            "https://h.example/v1/", "HTTPS://API.example.com:443/v2", "http://127.1/a/../b",
        ]
        let pieces = [
            "a", "Z", "0", "9", "-", "_", "~", "!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=", ":", "@", "/", "/", "/",
            ".", ".", "..", "%20", "%2e", "%2F", "%", "?", "#", " ", "\\", "é", "\t", "repos", "v1",
        ]
        var random = SplitMix(seed: 0x5EED)
        func draw() -> String {
            (0..<random.next(below: 8)).map { _ in pieces[random.next(below: pieces.count)] }.joined()
        }
        var kept = 0
        for index in 0..<6_000 {
            let base = try CheckedBaseURL(bases[index % bases.count])
            let path = draw()
            let query: String? = random.next(below: 3) == 0 ? nil : draw()
            var whole = base.base.url + (path.isEmpty ? "" : "/" + path)
            if let query, !query.isEmpty { whole += "?" + query }
            let appended = try? base.appending(path: path, query: query)
            let parsed = try? CheckedURL(whole)
            #expect(appended?.url == parsed?.url, "\(whole)")
            #expect(appended?.scheme == parsed?.scheme, "\(whole)")
            #expect(appended?.host == parsed?.host, "\(whole)")
            #expect(appended?.port == parsed?.port, "\(whole)")
            #expect(appended?.requestTarget == parsed?.requestTarget, "\(whole)")
            #expect(appended?.parsed.hostHeader == parsed?.parsed.hostHeader, "\(whole)")
            if base.verbatim, CheckedBaseURL.isPlain(path, inQuery: false), query.map({ CheckedBaseURL.isPlain($0, inQuery: true) }) ?? true {
                kept += 1
            }
        }
        // The shortcut was taken often enough for the comparison to count.
        #expect(kept > 500)
    }
}

/// A small seeded generator (SplitMix64), so that a failing case comes back on every run.
struct SplitMix {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next(below bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}
