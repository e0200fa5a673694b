import Foundation
import LatchkeyModel

/// An organization's credit pool and what was drawn from it.
///
/// Contract: `drawCredits` is atomic: it draws only when the balance covers the amount, so concurrent calls
/// never overdraw; it records the usage against the provider and agent in the same step. `refundCredits`
/// reverses one draw (for a call that never reached the provider).
public protocol CreditStore: Sendable {
    /// Adds credits (creating the pool on first use) and returns the new balance.
    func addCredits(org: String, amount: Int) async throws -> Int
    func creditBalance(org: String) async throws -> Int
    func drawCredits(org: String, amount: Int, provider: ProviderID, agent: String) async throws -> Bool
    func refundCredits(org: String, amount: Int, provider: ProviderID, agent: String) async throws
    func creditUsage(org: String) async throws -> [CreditUsage]
}

/// Credits drawn by one agent on one provider.
public struct CreditUsage: Sendable, Equatable, Codable {
    public var provider: String
    public var agent: String
    public var calls: Int
    public var credits: Int
    public init(provider: String, agent: String, calls: Int, credits: Int) {
        self.provider = provider
        self.agent = agent
        self.calls = calls
        self.credits = credits
    }
}
