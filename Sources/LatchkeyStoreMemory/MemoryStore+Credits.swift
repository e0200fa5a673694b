import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore.State {
    /// The pool's balance after adding `amount`; `conflict` if it would fall below zero, as the engines' check does.
    func creditBalance(org: String, adding amount: Int) throws -> Int {
        let balance = (creditPools[org] ?? 0) + amount
        guard balance >= 0 else { throw MemoryStore.conflict("the credit pool of \(org) cannot fall below zero") }
        return balance
    }
}

extension MemoryStore: CreditStore {
    public func addCredits(org: String, amount: Int) async throws -> Int {
        try locked { state in
            let balance = try state.creditBalance(org: org, adding: amount)
            state.creditPools[org] = balance
            return balance
        }
    }

    public func creditBalance(org: String) async throws -> Int {
        locked { $0.creditPools[org] ?? 0 }
    }

    public func drawCredits(org: String, amount: Int, provider: ProviderID, agent: String) async throws -> Bool {
        locked { state in
            guard let balance = state.creditPools[org], balance >= amount else { return false }
            state.creditPools[org] = balance - amount
            let key = CreditUsageKey(org: org, provider: provider.rawValue, agent: agent)
            state.creditUsage[key, default: CreditUsage(provider: provider.rawValue, agent: agent, calls: 0, credits: 0)].calls += 1
            state.creditUsage[key]?.credits += amount
            return true
        }
    }

    public func refundCredits(org: String, amount: Int, provider: ProviderID, agent: String) async throws {
        try locked { state in
            // Like the engines' UPDATEs: a missing pool or usage row is left missing.
            if state.creditPools[org] != nil { state.creditPools[org] = try state.creditBalance(org: org, adding: amount) }
            let key = CreditUsageKey(org: org, provider: provider.rawValue, agent: agent)
            state.creditUsage[key]?.calls -= 1
            state.creditUsage[key]?.credits -= amount
        }
    }

    public func creditUsage(org: String) async throws -> [CreditUsage] {
        locked { state in
            state.creditUsage.filter { $0.key.org == org }.values
                .sorted { (ByteOrder($0.provider), ByteOrder($0.agent)) < (ByteOrder($1.provider), ByteOrder($1.agent)) }
        }
    }
}
