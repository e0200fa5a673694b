import Foundation
import LatchkeyModel

/// An org's credentials for one provider, as the admin API shows them: what calls and connect flows use
/// (`credentials`), the admin's `choice` (`null` when the default applies), and what the default weighs.
public struct CredentialChoiceView: Encodable, Sendable {
    public var org: String
    public var provider: String
    public var credentials: String
    @Nullable public var choice: String?
    public var agentsMayChoose: Bool
    public var platformOffers: Bool
    public var orgHasOwn: Bool
    @Nullable public var updatedAt: Date?

    public init(
        org: String, provider: String, credentials: CredentialSource, choice: CredentialSource?, agentsMayChoose: Bool, platformOffers: Bool,
        orgHasOwn: Bool, updatedAt: Date?
    ) {
        self.org = org
        self.provider = provider
        self.credentials = credentials.rawValue
        self.choice = choice?.rawValue
        self.agentsMayChoose = agentsMayChoose
        self.platformOffers = platformOffers
        self.orgHasOwn = orgHasOwn
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case org, provider, credentials, choice
        case agentsMayChoose = "agents_may_choose"
        case platformOffers = "platform_offers"
        case orgHasOwn = "org_has_own"
        case updatedAt = "updated_at"
    }
}
