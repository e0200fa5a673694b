import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

extension SQLiteStore {
    public func addCredits(org: String, amount: Int) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO credit_pools (org, balance) VALUES (?, ?) ON CONFLICT (org) DO UPDATE SET balance = balance + excluded.balance",
                arguments: [org, amount])
            return try Int.fetchOne(db.cachedStatement(sql: "SELECT balance FROM credit_pools WHERE org = ?"), arguments: [org]) ?? 0
        }
    }

    public func creditBalance(org: String) async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db.cachedStatement(sql: "SELECT balance FROM credit_pools WHERE org = ?"), arguments: [org]) ?? 0 }
    }

    public func drawCredits(org: String, amount: Int, provider: ProviderID, agent: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE credit_pools SET balance = balance - ? WHERE org = ? AND balance >= ?", arguments: [amount, org, amount])
            guard db.changesCount == 1 else { return false }
            try db.execute(
                sql: """
                    INSERT INTO credit_usage (org, provider, agent, calls, credits) VALUES (?, ?, ?, 1, ?)
                    ON CONFLICT (org, provider, agent) DO UPDATE SET calls = calls + 1, credits = credits + excluded.credits
                    """,
                arguments: [org, provider.rawValue, agent, amount])
            return true
        }
    }

    public func refundCredits(org: String, amount: Int, provider: ProviderID, agent: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE credit_pools SET balance = balance + ? WHERE org = ?", arguments: [amount, org])
            try db.execute(
                sql: "UPDATE credit_usage SET calls = calls - 1, credits = credits - ? WHERE org = ? AND provider = ? AND agent = ?",
                arguments: [amount, org, provider.rawValue, agent])
        }
    }

    public func creditUsage(org: String) async throws -> [CreditUsage] {
        try await pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM credit_usage WHERE org = ? ORDER BY provider, agent"), arguments: [org]).map {
                CreditUsage(
                    provider: try Self.required($0, "provider", as: String.self), agent: try Self.required($0, "agent", as: String.self),
                    calls: try Self.required($0, "calls", as: Int.self), credits: try Self.required($0, "credits", as: Int.self))
            }
        }
    }
}
