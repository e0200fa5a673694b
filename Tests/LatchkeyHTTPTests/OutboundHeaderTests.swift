import LatchkeyHTTP
import Testing

/// Header names compare as RFC 9110 says: the case of ASCII letters aside, and nothing else.
@Suite struct OutboundHeaderTests {
    @Test func aLookUpFindsTheLastHeaderOfTheNameInAnyCase() {
        let headers = [OutboundHeader(name: "Content-Length", value: "1"), OutboundHeader(name: "content-length", value: "2")]
        #expect(headers.value(named: "CONTENT-LENGTH") == "2")
        #expect(headers.value(named: "Content-Lengths") == nil)
    }

    @Test func namesMatchWhollyOrAsAPrefix() {
        #expect(OutboundHeader.name("X-Custom", matches: Array("x-custom".utf8)))
        #expect(!OutboundHeader.name("X-Customs", matches: Array("x-custom".utf8)))
        #expect(!OutboundHeader.name("X-Custon", matches: Array("x-custom".utf8)))
        #expect(OutboundHeader.name("Latchkey-Request-Id", matches: Array("latchkey-".utf8), wholly: false))
        #expect(!OutboundHeader.name("Latchkey", matches: Array("latchkey-".utf8), wholly: false))
    }

    /// `@` and `` ` ``, `[` and `{` differ by the same bit as `A` and `a`, but they are no letters.
    @Test func onlyLettersFoldTheirCase() {
        #expect(!OutboundHeader.name("@", matches: Array("`".utf8)))
        #expect(!OutboundHeader.name("X[", matches: Array("x{".utf8)))
        #expect(!OutboundHeader.name("É", matches: Array("é".utf8)))
        #expect(!OutboundHeader.name("X[", sameAs: "x{"))
        #expect(!OutboundHeader.name("É", sameAs: "é"))
    }

    @Test func twoNamesAreTheSameInAnyCaseAndOnlyWhole() {
        #expect(OutboundHeader.name("X-Api-Key", sameAs: "x-API-key"))
        #expect(OutboundHeader.name("", sameAs: ""))
        #expect(!OutboundHeader.name("X-Api-Key", sameAs: "X-Api-Keys"))
        #expect(!OutboundHeader.name("X-Api-Kez", sameAs: "X-Api-Key"))
    }
}
