import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

// MARK: - Consents

extension PostgresStore {
    public func grantConsent(_ c: Consent) async throws {
        try await execute(
            """
            INSERT INTO consents (connection_id, grantee, person, granted_at, expires_at)
            VALUES (\(c.connectionID.rawValue), \(c.grantee.description), \(c.person.description), \(Self.time(c.grantedAt)),
                \(c.expiresAt.map(Self.time)))
            ON CONFLICT (connection_id, grantee) DO UPDATE SET person = excluded.person, granted_at = excluded.granted_at,
                expires_at = excluded.expires_at
            """)
    }

    public func withdrawConsent(connectionID: ConnectionID, grantee: OwnerRef) async throws -> Bool {
        try await !execute(
            "DELETE FROM consents WHERE connection_id = \(connectionID.rawValue) AND grantee = \(grantee.description) RETURNING 1"
        ).isEmpty
    }

    public func consents(person: OwnerRef) async throws -> [Consent] {
        try await execute("SELECT * FROM consents WHERE person = \(person.description) ORDER BY granted_at DESC, connection_id, grantee")
            .compactMap(Self.consent)
    }

    public func liveConsent(connectionID: ConnectionID, grantees: [OwnerRef], now: Date) async throws -> Consent? {
        guard !grantees.isEmpty else { return nil }
        let live = try await execute(
            """
            SELECT * FROM consents WHERE connection_id = \(connectionID.rawValue) AND grantee = ANY(\(grantees.map(\.description)))
            AND (expires_at IS NULL OR expires_at > \(Self.time(now)))
            """
        ).compactMap(Self.consent)
        // Of several, the one held by the grantee named first (an agent before its project).
        return grantees.lazy.compactMap { grantee in live.first { $0.grantee == grantee } }.first
    }

    static func consent(_ row: PostgresRandomAccessRow) throws -> Consent? {
        guard let grantee = try? OwnerRef(parsing: try row.value("grantee", as: String.self)),
            let person = try? OwnerRef(parsing: try row.value("person", as: String.self))
        else { return nil }
        return Consent(
            connectionID: ConnectionID(rawValue: try row.value("connection_id")), grantee: grantee, person: person,
            grantedAt: try StoredTime.required(try row.value("granted_at"), "granted_at"), expiresAt: date(try row.value("expires_at")))
    }
}
