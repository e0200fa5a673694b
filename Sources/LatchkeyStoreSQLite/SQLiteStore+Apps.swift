import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

// MARK: - Apps

extension SQLiteStore {
    public func putApp(_ app: AppRegistration) async throws {
        try await pool.write { db in
            try db.execute(
                sql: Self.upsert("apps", ["provider", "owner", "client_id", "client_secret", "scopes", "updated_at"], key: ["provider", "owner"]),
                arguments: [
                    app.provider.rawValue, app.owner.description, app.clientID, app.sealedClientSecret.map { Data($0) },
                    Self.json(app.scopes), Self.time(app.updatedAt),
                ])
        }
    }

    public func allApps(owner: OwnerRef) async throws -> [AppRegistration] {
        try await pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM apps WHERE owner = ?"), arguments: [owner.description]).compactMap(Self.app)
        }
    }

    public func apps(provider: ProviderID) async throws -> [AppRegistration] {
        try await pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM apps WHERE provider = ? ORDER BY updated_at, owner"), arguments: [provider.rawValue])
                .compactMap(Self.app)
        }
    }

    public func apps(provider: ProviderID, owners: [OwnerRef]) async throws -> [AppRegistration] {
        guard !owners.isEmpty else { return [] }
        return try await pool.read { db in
            let marks = Array(repeating: "?", count: owners.count).joined(separator: ", ")
            var args: [any DatabaseValueConvertible] = [provider.rawValue]
            args += owners.map(\.description)
            return try Row.fetchAll(
                db, sql: "SELECT * FROM apps WHERE provider = ? AND owner IN (\(marks))", arguments: StatementArguments(args)
            ).compactMap(Self.app)
        }
    }

    static func app(_ row: Row) throws -> AppRegistration? {
        let ownerText = try Self.required(row, "owner", as: String.self)
        guard let owner = try? OwnerRef(parsing: ownerText) else { return nil }
        return AppRegistration(
            provider: ProviderID(try Self.required(row, "provider", as: String.self)), owner: owner,
            clientID: try Self.required(row, "client_id", as: String.self),
            sealedClientSecret: try Self.optional(row, "client_secret", as: Data.self).map { Array($0) },
            scopes: decode([String].self, try Self.optional(row, "scopes", as: String.self)) ?? [], updatedAt: try Self.time(row, "updated_at"))
    }
}
