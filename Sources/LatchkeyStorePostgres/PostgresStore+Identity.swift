import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - Identities

extension PostgresStore {
    public func createOwner(_ owner: OwnerRef, at: Date) async throws {
        try await transaction { tx in
            if try await !tx.execute("SELECT 1 FROM owners WHERE ref = \(owner.description)").isEmpty {
                throw LatchkeyError(.conflict, "\(owner) already exists", field: "id")
            }
            // FOR SHARE keeps the parent from going away before this insert commits.
            if let parent = owner.parent, try await tx.execute("SELECT 1 FROM owners WHERE ref = \(parent.description) FOR SHARE").isEmpty {
                throw LatchkeyError(.notFound, "\(parent) does not exist", field: parent.kind.rawValue)
            }
            let inserted = try await tx.execute(
                """
                INSERT INTO owners (ref, kind, org, parent, created_at)
                VALUES (\(owner.description), \(owner.kind.rawValue), \(owner.org), \(owner.parent?.description), \(Self.time(at)))
                ON CONFLICT (ref) DO NOTHING RETURNING 1
                """)
            // Another replica created it between the check and the insert.
            if inserted.isEmpty { throw LatchkeyError(.conflict, "\(owner) already exists", field: "id") }
        }
    }

    public func ownerExists(_ owner: OwnerRef) async throws -> Bool {
        try await !execute("SELECT 1 FROM owners WHERE ref = \(owner.description)").isEmpty
    }

    public func owners(kind: OwnerRef.Kind, org: String) async throws -> [OwnerRef] {
        try await execute("SELECT ref FROM owners WHERE org = \(org) AND kind = \(kind.rawValue) ORDER BY ref")
            .compactMap { try? OwnerRef(parsing: try $0.value("ref", as: String.self)) }
    }

    public func orgNames() async throws -> [String] {
        try await execute("SELECT org FROM owners WHERE kind = 'org' ORDER BY org").map { try $0.required("org") }
    }

    public func addAgentKey(hash: String, agent: OwnerRef, at: Date) async throws {
        try await execute("INSERT INTO agent_keys (key_hash, agent, created_at) VALUES (\(hash), \(agent.description), \(Self.time(at)))")
    }

    public func agent(forKeyHash hash: String) async throws -> OwnerRef? {
        try await execute("SELECT agent FROM agent_keys WHERE key_hash = \(hash) AND revoked_at IS NULL").first
            .flatMap { try? OwnerRef(parsing: try $0.value("agent", as: String.self)) }
    }

    public func revokeAgentKeys(agent: OwnerRef, at: Date) async throws -> Int {
        try await transaction { tx in
            // Ordered with every mint of a narrowed key for this agent (see `addNarrowedKey`).
            _ = try await tx.execute("SELECT 1 FROM owners WHERE ref = \(agent.description) FOR UPDATE")
            let revoked = try await tx.execute(
                "UPDATE agent_keys SET revoked_at = \(Self.time(at)) WHERE agent = \(agent.description) AND revoked_at IS NULL RETURNING 1"
            ).count
            // The keys narrowed from them go in the same transaction.
            return revoked + (try await tx.execute("DELETE FROM narrowed_keys WHERE agent = \(agent.description) RETURNING 1").count)
        }
    }

    public func markOwnerRevoked(_ owner: OwnerRef, at: Date) async throws {
        try await execute(
            "UPDATE owners SET revoked_at = GREATEST(COALESCE(revoked_at, 0), \(Self.time(at))) WHERE ref = \(owner.description)")
    }

    public func latestRevocation(of owners: [OwnerRef]) async throws -> Date? {
        guard !owners.isEmpty else { return nil }
        let row = try await execute("SELECT MAX(revoked_at) AS at FROM owners WHERE ref = ANY(\(owners.map(\.description)))").first
        return Self.date(try row?.value("at", as: Double?.self))
    }
}
