import LatchkeyConnections
import LatchkeyManifest

extension ProviderManifest {
    /// How the provider authenticates, as far as managed or own credentials are concerned.
    public var credentialKind: CredentialChoices.CredentialKind {
        switch auth {
        case .oauth2, .remoteMCP: .app
        case .apiKey, .basic: .key
        case .none: .none
        }
    }
}
