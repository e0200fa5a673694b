import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

// MARK: - Consents

extension SQLiteStore {
    public func grantConsent(_ c: Consent) async throws {
        try await write { db in
            try db.execute(
                sql: Self.upsert("consents", ["connection_id", "grantee", "person", "granted_at", "expires_at"], key: ["connection_id", "grantee"]),
                arguments: [c.connectionID.rawValue, c.grantee.description, c.person.description, Self.time(c.grantedAt), c.expiresAt.map(Self.time)])
        }
    }

    public func withdrawConsent(connectionID: ConnectionID, grantee: OwnerRef) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM consents WHERE connection_id = ? AND grantee = ?", arguments: [connectionID.rawValue, grantee.description])
            return db.changesCount > 0
        }
    }

    public func consents(person: OwnerRef) async throws -> [Consent] {
        try await pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM consents WHERE person = ? ORDER BY granted_at DESC, connection_id, grantee"),
                arguments: [person.description]
            ).compactMap(Self.consent)
        }
    }

    public func liveConsent(connectionID: ConnectionID, grantees: [OwnerRef], now: Date) async throws -> Consent? {
        guard !grantees.isEmpty else { return nil }
        let refs = grantees.map(\.description)
        let live = try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM consents WHERE connection_id = ? AND grantee IN (\(databaseQuestionMarks(count: refs.count)))
                    AND (expires_at IS NULL OR expires_at > ?)
                    """,
                arguments: StatementArguments([connectionID.rawValue] + refs) + [Self.time(now)]
            ).compactMap(Self.consent)
        }
        // Of several, the one held by the grantee named first (an agent before its project).
        return grantees.lazy.compactMap { grantee in live.first { $0.grantee == grantee } }.first
    }

    static func consent(_ row: Row) throws -> Consent? {
        let granteeText = try Self.required(row, "grantee", as: String.self)
        guard let grantee = try? OwnerRef(parsing: granteeText) else { return nil }
        let personText = try Self.required(row, "person", as: String.self)
        guard let person = try? OwnerRef(parsing: personText) else { return nil }
        return Consent(
            connectionID: ConnectionID(rawValue: try Self.required(row, "connection_id", as: String.self)), grantee: grantee, person: person,
            grantedAt: try Self.time(row, "granted_at"), expiresAt: try Self.optionalTime(row, "expires_at"))
    }
}
