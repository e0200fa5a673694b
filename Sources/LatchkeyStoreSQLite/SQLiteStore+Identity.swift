import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

// MARK: - Identities

extension SQLiteStore {
    public func createOwner(_ owner: OwnerRef, at: Date) async throws {
        try await pool.write { db in
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM owners WHERE ref = ?"), arguments: [owner.description]) == true {
                throw LatchkeyError(.conflict, "\(owner) already exists", field: "id")
            }
            if let parent = owner.parent,
                try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM owners WHERE ref = ?"), arguments: [parent.description]) != true
            {
                throw LatchkeyError(.notFound, "\(parent) does not exist", field: parent.kind.rawValue)
            }
            try db.execute(
                sql: "INSERT INTO owners (ref, kind, org, parent, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [owner.description, owner.kind.rawValue, owner.org, owner.parent?.description, Self.time(at)])
        }
    }

    public func ownerExists(_ owner: OwnerRef) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM owners WHERE ref = ?"), arguments: [owner.description]) == true
        }
    }

    public func owners(kind: OwnerRef.Kind, org: String) async throws -> [OwnerRef] {
        try await pool.read { db in
            try String.fetchAll(db.cachedStatement(sql: "SELECT ref FROM owners WHERE org = ? AND kind = ? ORDER BY ref"), arguments: [org, kind.rawValue])
                .compactMap { try? OwnerRef(parsing: $0) }
        }
    }

    public func orgNames() async throws -> [String] {
        try await pool.read { db in try String.fetchAll(db.cachedStatement(sql: "SELECT org FROM owners WHERE kind = 'org' ORDER BY org")) }
    }

    public func addAgentKey(hash: String, agent: OwnerRef, at: Date) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO agent_keys (key_hash, agent, created_at) VALUES (?, ?, ?)",
                arguments: [hash, agent.description, Self.time(at)])
        }
    }

    public func agent(forKeyHash hash: String) async throws -> OwnerRef? {
        try await pool.read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT agent FROM agent_keys WHERE key_hash = ? AND revoked_at IS NULL"), arguments: [hash])
                .flatMap { try? OwnerRef(parsing: $0) }
        }
    }

    public func revokeAgentKeys(agent: OwnerRef, at: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE agent_keys SET revoked_at = ? WHERE agent = ? AND revoked_at IS NULL",
                arguments: [Self.time(at), agent.description])
            let revoked = db.changesCount
            // The keys narrowed from them go in the same transaction.
            try db.execute(sql: "DELETE FROM narrowed_keys WHERE agent = ?", arguments: [agent.description])
            return revoked + db.changesCount
        }
    }

    public func markOwnerRevoked(_ owner: OwnerRef, at: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE owners SET revoked_at = MAX(COALESCE(revoked_at, 0), ?) WHERE ref = ?",
                arguments: [Self.time(at), owner.description])
        }
    }

    public func latestRevocation(of owners: [OwnerRef]) async throws -> Date? {
        guard !owners.isEmpty else { return nil }
        let refs = owners.map(\.description)
        return try await pool.read { db in
            try Double.fetchOne(
                db, sql: "SELECT MAX(revoked_at) FROM owners WHERE ref IN (\(databaseQuestionMarks(count: refs.count)))",
                arguments: StatementArguments(refs))
        }.flatMap { Self.date($0) }
    }
}
