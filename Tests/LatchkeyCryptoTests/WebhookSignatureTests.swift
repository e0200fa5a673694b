import LatchkeyCrypto
import Testing

@Suite("Webhook signatures")
struct WebhookSignatureTests {
    let secret = "whsec_c2VjcmV0LWZvci10ZXN0cw"
    let body = Array(#"{"id":"evt_1","type":"recovered"}"#.utf8)

    /// The vector was computed outside Swift:
    /// `printf '%s' '1767225600.{"id":"evt_1","type":"recovered"}' | openssl dgst -sha256 -hmac 'whsec_c2VjcmV0LWZvci10ZXN0cw'`
    /// and Python's `hmac.new(secret.encode(), f"{ts}.{body}".encode(), hashlib.sha256).hexdigest()` agree.
    @Test func theSignatureIsHexHMACSHA256OfTimestampDotBodyUnderTheWholeSecret() {
        #expect(
            WebhookSignature.header(secret: secret, timestamp: 1_767_225_600, body: body)
                == "v1=8e1681096edf341dd336f096c36260607da80f895c1b5f3a192238c97feb5df3")
    }

    @Test func aSignatureVerifiesOnlyForTheSameSecretTimestampAndBody() {
        let header = WebhookSignature.header(secret: secret, timestamp: 1_767_225_600, body: body)
        #expect(WebhookSignature.verify(header: header, secret: secret, timestamp: 1_767_225_600, body: body))
        #expect(WebhookSignature.verify(header: "v0=abc, " + header, secret: secret, timestamp: 1_767_225_600, body: body))
        #expect(!WebhookSignature.verify(header: header, secret: secret + "x", timestamp: 1_767_225_600, body: body))
        #expect(!WebhookSignature.verify(header: header, secret: secret, timestamp: 1_767_225_601, body: body))
        #expect(!WebhookSignature.verify(header: header, secret: secret, timestamp: 1_767_225_600, body: body + [0x20]))
        #expect(!WebhookSignature.verify(header: String(header.dropFirst(3)), secret: secret, timestamp: 1_767_225_600, body: body))
    }

    @Test func secretsAreFreshPrefixedAndCarry32RandomBytes() {
        let a = WebhookSignature.generateSecret()
        let b = WebhookSignature.generateSecret()
        #expect(a != b)
        #expect(a.hasPrefix("whsec_"))
        #expect(a.count == "whsec_".count + 43)  // 32 bytes as unpadded base64url
        #expect(a.dropFirst(6).allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
    }
}
