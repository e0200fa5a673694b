import LatchkeyModel

extension LatchkeyError {
    /// The API error for a refused ID token or discovery document.
    ///
    /// An issuer that is not the expected one is `issuer_mismatch`, as for an RFC 9207 `iss` on the
    /// callback; anything else the provider sent that does not verify is `invalid_provider_response`.
    /// The OIDC code leads the message, so logs keep the precise reason.
    public init(_ error: OIDCError) {
        let code: Code = error.isIssuerMismatch ? .issuerMismatch : .invalidProviderResponse
        self.init(code, "\(error.code): \(error.message)")
    }
}
