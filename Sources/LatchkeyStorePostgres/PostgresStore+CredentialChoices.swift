import Foundation
import LatchkeyModel
import LatchkeyStore
import PostgresNIO

extension PostgresStore {
    public func putCredentialChoice(_ choice: CredentialChoice) async throws {
        try await execute(
            """
            INSERT INTO credential_choices (org, provider, credentials, agents_may_choose, updated_at)
            VALUES (\(choice.org), \(choice.provider.rawValue), \(choice.credentials.rawValue), \(choice.agentsMayChoose),
                \(Self.time(choice.updatedAt)))
            ON CONFLICT (org, provider) DO UPDATE SET credentials = excluded.credentials,
                agents_may_choose = excluded.agents_may_choose, updated_at = excluded.updated_at
            """)
    }

    public func credentialChoice(org: String, provider: ProviderID) async throws -> CredentialChoice? {
        try await execute("SELECT * FROM credential_choices WHERE org = \(org) AND provider = \(provider.rawValue)")
            .first.map(Self.credentialChoice)
    }

    public func credentialChoices(org: String) async throws -> [CredentialChoice] {
        try await execute("SELECT * FROM credential_choices WHERE org = \(org) ORDER BY provider").map(Self.credentialChoice)
    }

    static func credentialChoice(_ row: PostgresRandomAccessRow) throws -> CredentialChoice {
        guard let credentials = CredentialSource(rawValue: try row.required("credentials")) else {
            throw LatchkeyError.malformedRow(column: "credentials")
        }
        return CredentialChoice(
            org: try row.required("org"), provider: ProviderID(try row.required("provider", as: String.self)), credentials: credentials,
            agentsMayChoose: try row.required("agents_may_choose"),
            updatedAt: try StoredTime.required(try row.value("updated_at"), "updated_at"))
    }
}
