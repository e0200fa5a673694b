import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - Grants and credits

extension PostgresStore {
    public func addCredits(org: String, amount: Int) async throws -> Int {
        try await execute(
            """
            INSERT INTO credit_pools (org, balance) VALUES (\(org), \(amount))
            ON CONFLICT (org) DO UPDATE SET balance = credit_pools.balance + excluded.balance RETURNING balance
            """
        ).first.map { try $0.value("balance", as: Int.self) } ?? 0
    }

    public func creditBalance(org: String) async throws -> Int {
        try await execute("SELECT balance FROM credit_pools WHERE org = \(org)").first.map { try $0.value("balance", as: Int.self) } ?? 0
    }

    public func drawCredits(org: String, amount: Int, provider: ProviderID, agent: String) async throws -> Bool {
        try await transaction { tx in
            // A concurrent draw holds the row; this UPDATE waits and re-checks the balance it leaves.
            let drawn = try await tx.execute(
                "UPDATE credit_pools SET balance = balance - \(amount) WHERE org = \(org) AND balance >= \(amount) RETURNING 1")
            guard !drawn.isEmpty else { return false }
            try await tx.execute(
                """
                INSERT INTO credit_usage (org, provider, agent, calls, credits) VALUES (\(org), \(provider.rawValue), \(agent), 1, \(amount))
                ON CONFLICT (org, provider, agent) DO UPDATE SET calls = credit_usage.calls + 1,
                    credits = credit_usage.credits + excluded.credits
                """)
            return true
        }
    }

    public func refundCredits(org: String, amount: Int, provider: ProviderID, agent: String) async throws {
        try await transaction { tx in
            try await tx.execute("UPDATE credit_pools SET balance = balance + \(amount) WHERE org = \(org)")
            try await tx.execute(
                """
                UPDATE credit_usage SET calls = calls - 1, credits = credits - \(amount)
                WHERE org = \(org) AND provider = \(provider.rawValue) AND agent = \(agent)
                """)
        }
    }

    public func creditUsage(org: String) async throws -> [CreditUsage] {
        try await execute("SELECT * FROM credit_usage WHERE org = \(org) ORDER BY provider, agent").map {
            CreditUsage(
                provider: try $0.value("provider"), agent: try $0.value("agent"), calls: try $0.value("calls"), credits: try $0.value("credits"))
        }
    }
}
