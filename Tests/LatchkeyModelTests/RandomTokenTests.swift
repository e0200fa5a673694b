@testable import LatchkeyModel
import Testing

/// Random tokens come from a pool drawn four kilobytes at a time from the kernel: every draw is the length asked for, no
/// bytes are handed out twice, and draws larger than the pool's share bypass it.
@Suite struct RandomTokenTests {
    @Test(arguments: [0, 1, 7, 8, 10, 16, 32, 255, 256, 257, 1024, 1025, 4096, 5000])
    func aDrawIsTheLengthAsked(_ count: Int) {
        #expect(RandomToken.bytes(count).count == count)
    }

    @Test func tenThousandRequestIDsAreAllDifferent() {
        // Enough to run through the pool 25 times.
        let ids = (0..<10_000).map { _ in RandomToken.base32(bytes: 10) }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.count == 16 })
    }

    @Test func base32IsRFC4648sAlphabetInLowerCaseWithoutPadding() {
        // RFC 4648 section 10's vectors, lowercased and unpadded.
        let vectors = ["": "", "f": "my", "fo": "mzxq", "foo": "mzxw6", "foob": "mzxw6yq", "fooba": "mzxw6ytb", "foobar": "mzxw6ytboi"]
        for (text, encoded) in vectors { #expect(RandomToken.base32(Array(text.utf8)) == encoded, "\(text)") }
        #expect(RandomToken.base32([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) == String(repeating: "7", count: 25) + "4")
        #expect(RandomToken.base32(bytes: 16).count == 26)
    }

    @Test func concurrentDrawsNeverShareBytes() async {
        let drawn = await withTaskGroup(of: [[UInt8]].self) { group in
            for _ in 0..<8 { group.addTask { (0..<500).map { _ in RandomToken.bytes(16) } } }
            return await group.reduce(into: [[UInt8]]()) { $0 += $1 }
        }
        #expect(Set(drawn).count == 4_000)
    }

    @Test func theBytesAreNotStuck() {
        // Over 64 KiB every byte value turns up (a zeroed or repeating pool would not pass).
        var seen = Set<UInt8>()
        for _ in 0..<4096 { seen.formUnion(RandomToken.bytes(16)) }
        #expect(seen.count == 256)
        #expect(RandomToken.bytes(32) != RandomToken.bytes(32))
    }
}
