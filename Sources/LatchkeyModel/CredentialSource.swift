/// Where the credential behind an integration comes from: the platform's app or key (`managed`, metered against the
/// org's credit pool when the manifest has a price) or the org's own (`own`, never metered).
public enum CredentialSource: String, Sendable, Codable, CaseIterable {
    case managed, own

    /// Parses `managed` or `own`; throws `invalid_request` naming `field`.
    public init(parsing text: String, field: String) throws(LatchkeyError) {
        guard let source = CredentialSource(rawValue: text) else {
            throw LatchkeyError(.invalidRequest, "\(field): '\(text.prefix(30))' is neither managed nor own", field: field)
        }
        self = source
    }
}
