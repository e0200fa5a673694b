import LatchkeyOAuth
import Testing

@Suite struct OAuthErrorCodeTests {
    @Test(arguments: [
        ("invalid_grant", true), ("unauthorized_client", true),
        ("invalid_request", false), ("invalid_client", false), ("invalid_scope", false), ("server_error", false),
        ("temporarily_unavailable", false), ("slow_down", false), ("INVALID_GRANT", false), ("", false),
    ])
    func onlyAnInvalidGrantOrAnUnauthorizedClientEndsAGrant(raw: String, ends: Bool) {
        #expect(OAuthErrorCode(raw).endsTheGrant == ends)
    }

    @Test func aCodeOutsideTheRFCIsKeptAsItCame() {
        #expect(OAuthErrorCode("slow_down") == .other("slow_down"))
        #expect(OAuthErrorCode("invalid_grant") == .invalidGrant)
    }
}
