import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore

extension SQLiteStore {
    public func putCredentialChoice(_ choice: CredentialChoice) async throws {
        try await write { db in
            try db.execute(
                sql: Self.upsert(
                    "credential_choices", ["org", "provider", "credentials", "agents_may_choose", "updated_at"], key: ["org", "provider"]),
                arguments: [choice.org, choice.provider.rawValue, choice.credentials.rawValue, choice.agentsMayChoose, Self.time(choice.updatedAt)])
        }
    }

    public func credentialChoice(org: String, provider: ProviderID) async throws -> CredentialChoice? {
        try await pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM credential_choices WHERE org = ? AND provider = ?"), arguments: [org, provider.rawValue]
            ).map(Self.credentialChoice)
        }
    }

    public func credentialChoices(org: String) async throws -> [CredentialChoice] {
        try await pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM credential_choices WHERE org = ? ORDER BY provider"), arguments: [org])
                .map(Self.credentialChoice)
        }
    }

    static func credentialChoice(_ row: Row) throws -> CredentialChoice {
        guard let credentials = try Self.optional(row, "credentials", as: String.self).flatMap(CredentialSource.init(rawValue:)) else {
            throw LatchkeyError.malformedRow(column: "credentials")
        }
        guard let agentsMayChoose = Bool.fromDatabaseValue(row["agents_may_choose"] as DatabaseValue) else {
            throw LatchkeyError.malformedRow(column: "agents_may_choose")
        }
        return CredentialChoice(
            org: try Self.required(row, "org", as: String.self), provider: ProviderID(try Self.required(row, "provider", as: String.self)),
            credentials: credentials, agentsMayChoose: agentsMayChoose, updatedAt: try Self.time(row, "updated_at"))
    }
}
