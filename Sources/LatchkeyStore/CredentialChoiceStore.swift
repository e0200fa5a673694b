import Foundation
import LatchkeyModel

/// An org's explicit choice of credentials for one provider, made by an admin.
public struct CredentialChoice: Sendable, Equatable {
    public var org: String
    public var provider: ProviderID
    public var credentials: CredentialSource
    /// Whether an agent of the org may name the other source when it installs the provider.
    public var agentsMayChoose: Bool
    public var updatedAt: Date

    public init(org: String, provider: ProviderID, credentials: CredentialSource, agentsMayChoose: Bool, updatedAt: Date) {
        self.org = org
        self.provider = provider
        self.credentials = credentials
        self.agentsMayChoose = agentsMayChoose
        self.updatedAt = updatedAt
    }
}

/// Orgs' choices between managed and own credentials, per provider.
///
/// Contract: `putCredentialChoice` replaces the org's choice for the provider; `credentialChoices(org:)` lists them by
/// provider. A row that cannot be read fails its own read (`malformed_row`), never another org's.
public protocol CredentialChoiceStore: Sendable {
    func putCredentialChoice(_ choice: CredentialChoice) async throws
    func credentialChoice(org: String, provider: ProviderID) async throws -> CredentialChoice?
    func credentialChoices(org: String) async throws -> [CredentialChoice]
}
