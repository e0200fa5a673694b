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

    public func addAgentKey(hash: String, agent: OwnerRef, at: Date) async throws {
        try await execute("INSERT INTO agent_keys (key_hash, agent, created_at) VALUES (\(hash), \(agent.description), \(Self.time(at)))")
    }

    public func agent(forKeyHash hash: String) async throws -> OwnerRef? {
        try await execute("SELECT agent FROM agent_keys WHERE key_hash = \(hash) AND revoked_at IS NULL").first
            .flatMap { try? OwnerRef(parsing: try $0.value("agent", as: String.self)) }
    }

    public func revokeAgentKeys(agent: OwnerRef, at: Date) async throws -> Int {
        try await execute(
            "UPDATE agent_keys SET revoked_at = \(Self.time(at)) WHERE agent = \(agent.description) AND revoked_at IS NULL RETURNING 1"
        ).count
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

// MARK: - Data keys

extension PostgresStore {
    static func dataKeyRecord(_ row: PostgresRandomAccessRow, owner: OwnerRef) throws -> WrappedDataKeyRecord {
        WrappedDataKeyRecord(
            owner: owner, keyVersion: try row.value("key_version", as: Int.self),
            ciphertext: bytes(try row.value("ciphertext", as: ByteBuffer.self)) ?? [])
    }

    public func dataKey(for owner: OwnerRef) async throws -> WrappedDataKeyRecord? {
        try await execute("SELECT key_version, ciphertext FROM data_keys WHERE owner = \(owner.description)").first
            .map { try Self.dataKeyRecord($0, owner: owner) }
    }

    public func insertDataKeyIfAbsent(_ key: WrappedDataKeyRecord) async throws -> WrappedDataKeyRecord {
        // ON CONFLICT waits for a racing insert to commit, so the read after it sees the one stored key.
        try await execute(
            """
            INSERT INTO data_keys (owner, key_version, ciphertext) VALUES (\(key.owner.description), \(key.keyVersion), \(Self.bytes(key.ciphertext)))
            ON CONFLICT (owner) DO NOTHING
            """)
        guard let row = try await execute("SELECT key_version, ciphertext FROM data_keys WHERE owner = \(key.owner.description)").first else {
            throw LatchkeyError(.conflict, "the data key of \(key.owner) was deleted while it was being created")
        }
        return try Self.dataKeyRecord(row, owner: key.owner)
    }

    public func deleteDataKey(for owner: OwnerRef) async throws -> Bool {
        try await !execute("DELETE FROM data_keys WHERE owner = \(owner.description) RETURNING 1").isEmpty
    }

    public func dataKeyCounts() async throws -> [Int: Int] {
        try await execute("SELECT key_version, COUNT(*) AS n FROM data_keys GROUP BY key_version").reduce(into: [Int: Int]()) {
            $0[try $1.value("key_version", as: Int.self)] = try $1.value("n", as: Int.self)
        }
    }

    public func dataKeys(notAtVersion version: Int, limit: Int) async throws -> [WrappedDataKeyRecord] {
        // Walks the (key_version, owner) index: older versions sort first, so a batch stops early.
        try await execute(
            "SELECT owner, key_version, ciphertext FROM data_keys WHERE key_version <> \(version) ORDER BY key_version, owner LIMIT \(limit)"
        ).compactMap { row in
            guard let owner = try? OwnerRef(parsing: try row.value("owner", as: String.self)) else { return nil }
            return try Self.dataKeyRecord(row, owner: owner)
        }
    }

    public func replaceDataKeys(_ replacements: [DataKeyReplacement]) async throws -> Int {
        guard !replacements.isEmpty else { return 0 }
        return try await transaction { tx in
            var replaced = 0
            for r in replacements {
                replaced += try await tx.execute(
                    """
                    UPDATE data_keys SET key_version = \(r.replacement.keyVersion), ciphertext = \(Self.bytes(r.replacement.ciphertext))
                    WHERE owner = \(r.expected.owner.description) AND key_version = \(r.expected.keyVersion)
                        AND ciphertext = \(Self.bytes(r.expected.ciphertext))
                    RETURNING 1
                    """
                ).count
            }
            return replaced
        }
    }
}

// MARK: - Apps

extension PostgresStore {
    public func putApp(_ app: AppRegistration) async throws {
        try await execute(
            """
            INSERT INTO apps (provider, owner, client_id, client_secret, scopes, updated_at)
            VALUES (\(app.provider.rawValue), \(app.owner.description), \(app.clientID), \(app.sealedClientSecret.map(Self.bytes)),
                \(Self.json(app.scopes)), \(Self.time(app.updatedAt)))
            ON CONFLICT (provider, owner) DO UPDATE SET client_id = excluded.client_id,
                client_secret = excluded.client_secret, scopes = excluded.scopes, updated_at = excluded.updated_at
            """)
    }

    public func allApps(owner: OwnerRef) async throws -> [AppRegistration] {
        try await execute("SELECT * FROM apps WHERE owner = \(owner.description)").compactMap(Self.app)
    }

    public func apps(provider: ProviderID) async throws -> [AppRegistration] {
        try await execute("SELECT * FROM apps WHERE provider = \(provider.rawValue) ORDER BY updated_at, owner").compactMap(Self.app)
    }

    public func apps(provider: ProviderID, owners: [OwnerRef]) async throws -> [AppRegistration] {
        guard !owners.isEmpty else { return [] }
        return try await execute("SELECT * FROM apps WHERE provider = \(provider.rawValue) AND owner = ANY(\(owners.map(\.description)))")
            .compactMap(Self.app)
    }

    static func app(_ row: PostgresRandomAccessRow) throws -> AppRegistration? {
        guard let owner = try? OwnerRef(parsing: try row.value("owner", as: String.self)) else { return nil }
        return AppRegistration(
            provider: ProviderID(try row.value("provider", as: String.self)), owner: owner, clientID: try row.value("client_id"),
            sealedClientSecret: bytes(try row.value("client_secret", as: ByteBuffer?.self)),
            scopes: decode([String].self, try row.value("scopes")) ?? [], updatedAt: try StoredTime.required(try row.value("updated_at"), "updated_at"))
    }
}

// MARK: - Grants and credits

extension PostgresStore {
    public func setGrants(agent: OwnerRef, tools: [String], at: Date) async throws {
        try await transaction { tx in
            try await tx.execute("DELETE FROM grants WHERE agent = \(agent.description)")
            for tool in Set(tools).sorted() {
                try await tx.execute("INSERT INTO grants (agent, tool, granted_at) VALUES (\(agent.description), \(tool), \(Self.time(at)))")
            }
        }
    }

    public func grants(agent: OwnerRef) async throws -> Set<String> {
        Set(try await execute("SELECT tool FROM grants WHERE agent = \(agent.description)").map { try $0.value("tool", as: String.self) })
    }

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
