import GRDB

/// The SQLite schema, as append-only migrations. A shipped migration is never edited.
enum SQLiteMigrations {
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: owners, keys, apps, connections, pending flows, audit") { db in
            try db.execute(sql: """
                CREATE TABLE owners (
                    ref TEXT PRIMARY KEY NOT NULL,
                    kind TEXT NOT NULL,
                    org TEXT NOT NULL,
                    parent TEXT REFERENCES owners(ref),
                    created_at DOUBLE PRECISION NOT NULL
                );
                CREATE INDEX owners_org_kind ON owners(org, kind);
                CREATE TABLE agent_keys (
                    key_hash TEXT PRIMARY KEY NOT NULL,
                    agent TEXT NOT NULL REFERENCES owners(ref),
                    created_at DOUBLE PRECISION NOT NULL,
                    revoked_at DOUBLE PRECISION
                );
                CREATE INDEX agent_keys_agent ON agent_keys(agent);
                CREATE TABLE data_keys (
                    owner TEXT PRIMARY KEY NOT NULL,
                    key_version INTEGER NOT NULL,
                    ciphertext BLOB NOT NULL
                );
                CREATE TABLE apps (
                    provider TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    client_id TEXT NOT NULL,
                    client_secret BLOB,
                    scopes TEXT NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL,
                    PRIMARY KEY (provider, owner)
                );
                CREATE TABLE connections (
                    id TEXT PRIMARY KEY NOT NULL,
                    provider TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    org TEXT NOT NULL,
                    state TEXT NOT NULL,
                    account_id TEXT,
                    account_name TEXT,
                    scopes_requested TEXT NOT NULL,
                    scopes_granted TEXT NOT NULL,
                    config TEXT NOT NULL,
                    expires_at DOUBLE PRECISION,
                    last_refreshed_at DOUBLE PRECISION,
                    last_error TEXT,
                    is_default INTEGER NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL,
                    version INTEGER NOT NULL,
                    credential BLOB
                );
                CREATE INDEX connections_owner_provider ON connections(owner, provider);
                CREATE INDEX connections_org ON connections(org);
                CREATE UNIQUE INDEX connections_one_default ON connections(owner, provider) WHERE is_default = 1;
                CREATE TABLE connect_sessions (
                    token_hash TEXT PRIMARY KEY NOT NULL,
                    provider TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    connection_id TEXT,
                    extra_scopes TEXT NOT NULL,
                    return_to TEXT,
                    created_by TEXT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL,
                    used_at DOUBLE PRECISION
                );
                CREATE TABLE authorization_states (
                    state_hash TEXT PRIMARY KEY NOT NULL,
                    session_token_hash TEXT NOT NULL,
                    provider TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    verifier BLOB,
                    browser_binding_hash TEXT NOT NULL,
                    scopes TEXT NOT NULL,
                    config TEXT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL
                );
                CREATE TABLE audit_events (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at DOUBLE PRECISION NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    owner TEXT,
                    org TEXT,
                    provider TEXT,
                    connection_id TEXT,
                    outcome TEXT NOT NULL,
                    detail TEXT
                );
                CREATE INDEX audit_events_org_at ON audit_events(org, at);
                """)
        }
        migrator.registerMigration("v2: grants and credits") { db in
            try db.execute(sql: """
                CREATE TABLE grants (
                    agent TEXT NOT NULL REFERENCES owners(ref),
                    tool TEXT NOT NULL,
                    granted_at DOUBLE PRECISION NOT NULL,
                    PRIMARY KEY (agent, tool)
                );
                CREATE TABLE credit_pools (
                    org TEXT PRIMARY KEY NOT NULL,
                    balance INTEGER NOT NULL CHECK (balance >= 0)
                );
                CREATE TABLE credit_usage (
                    org TEXT NOT NULL,
                    provider TEXT NOT NULL,
                    agent TEXT NOT NULL,
                    calls INTEGER NOT NULL,
                    credits INTEGER NOT NULL,
                    PRIMARY KEY (org, provider, agent)
                );
                """)
        }
        migrator.registerMigration("v3: index connections by expiry for the background refresher") { db in
            try db.execute(sql: "CREATE INDEX connections_expires_at ON connections(expires_at)")
        }
        migrator.registerMigration("v4: index data keys by master-key version for rotation") { db in
            try db.execute(sql: "CREATE INDEX data_keys_version ON data_keys(key_version, owner)")
        }
        migrator.registerMigration("v5: refresh leases") { db in
            // One row per connection ever refreshed; the fence only grows, so the row stays after a release.
            try db.execute(
                sql: """
                    CREATE TABLE refresh_leases (
                        connection_id TEXT PRIMARY KEY NOT NULL,
                        holder TEXT NOT NULL,
                        fence INTEGER NOT NULL,
                        expires_at REAL NOT NULL
                    )
                    """)
        }
        return migrator
    }
}
