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
        migrator.registerMigration("v6: org webhooks, their delivery queue and attempts") { db in
            try db.execute(sql: """
                CREATE TABLE webhooks (
                    id TEXT PRIMARY KEY NOT NULL,
                    org TEXT NOT NULL UNIQUE,
                    url TEXT NOT NULL,
                    events TEXT NOT NULL,
                    secret BLOB NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL
                );
                CREATE TABLE webhook_deliveries (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
                    org TEXT NOT NULL,
                    event_id TEXT NOT NULL,
                    event TEXT NOT NULL,
                    connection_id TEXT,
                    payload BLOB NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
                    attempts INTEGER NOT NULL CHECK (attempts >= 0),
                    created_at DOUBLE PRECISION NOT NULL,
                    next_attempt_at DOUBLE PRECISION,
                    last_attempt_at DOUBLE PRECISION,
                    last_status_code INTEGER,
                    last_error TEXT,
                    delivered_at DOUBLE PRECISION,
                    UNIQUE (webhook_id, event_id)
                );
                CREATE INDEX webhook_deliveries_queue ON webhook_deliveries(webhook_id, seq) WHERE status = 'pending';
                CREATE INDEX webhook_deliveries_org ON webhook_deliveries(org, seq);
                CREATE TABLE webhook_attempts (
                    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
                    attempt INTEGER NOT NULL CHECK (attempt >= 1),
                    at DOUBLE PRECISION NOT NULL,
                    status_code INTEGER,
                    error TEXT,
                    duration_ms INTEGER NOT NULL,
                    PRIMARY KEY (delivery_id, attempt)
                );
                """)
        }
        migrator.registerMigration("v7: dashboard sessions and proxy call counts shared by replicas") { db in
            try db.execute(sql: """
                CREATE TABLE admin_sessions (
                    id_hash TEXT PRIMARY KEY NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL,
                    message BLOB
                );
                CREATE INDEX admin_sessions_expiry ON admin_sessions(expires_at);
                CREATE TABLE proxy_call_counts (
                    provider TEXT NOT NULL,
                    hour INTEGER NOT NULL,
                    succeeded INTEGER NOT NULL CHECK (succeeded >= 0),
                    failed INTEGER NOT NULL CHECK (failed >= 0),
                    PRIMARY KEY (hour, provider)
                );
                """)
        }
        migrator.registerMigration("v8: replicas and the agreed master-key version") { db in
            try db.execute(sql: """
                CREATE TABLE replicas (
                    id TEXT PRIMARY KEY NOT NULL,
                    address TEXT NOT NULL,
                    started_at DOUBLE PRECISION NOT NULL,
                    seen_at DOUBLE PRECISION NOT NULL,
                    key_fingerprints TEXT NOT NULL,
                    wrapping_version INTEGER NOT NULL
                );
                CREATE TABLE keyring_state (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    wrapping_version INTEGER NOT NULL CHECK (wrapping_version >= 1),
                    changed_at DOUBLE PRECISION NOT NULL
                );
                """)
        }
        migrator.registerMigration("v9: links bound to their install, owners' revocation time") { db in
            try db.execute(sql: """
                ALTER TABLE connect_sessions ADD COLUMN install_id TEXT;
                ALTER TABLE owners ADD COLUMN revoked_at DOUBLE PRECISION;
                """)
        }
        migrator.registerMigration("v10: people, sign-in, person sessions and consents") { db in
            // Emails are stored lowercased by the store, so the unique index is case-insensitive in effect.
            try db.execute(sql: """
                CREATE TABLE people (
                    person TEXT PRIMARY KEY NOT NULL REFERENCES owners(ref),
                    org TEXT NOT NULL,
                    email TEXT,
                    issuer TEXT,
                    subject TEXT,
                    CHECK ((issuer IS NULL) = (subject IS NULL))
                );
                CREATE UNIQUE INDEX people_org_email ON people(org, email) WHERE email IS NOT NULL;
                CREATE UNIQUE INDEX people_issuer_subject ON people(org, issuer, subject) WHERE subject IS NOT NULL;
                CREATE TABLE sign_in_providers (
                    org TEXT PRIMARY KEY NOT NULL,
                    issuer TEXT NOT NULL,
                    client_id TEXT NOT NULL,
                    client_secret BLOB,
                    updated_at DOUBLE PRECISION NOT NULL
                );
                CREATE TABLE sign_in_links (
                    token_hash TEXT PRIMARY KEY NOT NULL,
                    person TEXT NOT NULL REFERENCES owners(ref),
                    created_at DOUBLE PRECISION NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL,
                    used_at DOUBLE PRECISION
                );
                CREATE TABLE sign_in_states (
                    state_hash TEXT PRIMARY KEY NOT NULL,
                    org TEXT NOT NULL,
                    nonce_hash TEXT NOT NULL,
                    verifier BLOB NOT NULL,
                    browser_binding_hash TEXT NOT NULL,
                    next TEXT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL
                );
                CREATE TABLE person_sessions (
                    id_hash TEXT PRIMARY KEY NOT NULL,
                    person TEXT NOT NULL,
                    org TEXT NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL,
                    message BLOB
                );
                CREATE INDEX person_sessions_person ON person_sessions(person);
                CREATE INDEX person_sessions_expiry ON person_sessions(expires_at);
                CREATE TABLE consents (
                    connection_id TEXT NOT NULL,
                    grantee TEXT NOT NULL,
                    person TEXT NOT NULL,
                    granted_at DOUBLE PRECISION NOT NULL,
                    expires_at DOUBLE PRECISION,
                    PRIMARY KEY (connection_id, grantee)
                );
                CREATE INDEX consents_person ON consents(person);
                """)
        }
        migrator.registerMigration("v11: capability grants and org access policies") { db in
            // Each legacy write-tool grant (`provider.tool`) becomes a one-tool grant of its agent, in tool order. The
            // legacy table stays. A name without a provider never matched a tool, so it is left behind.
            try db.execute(sql: """
                CREATE TABLE capability_grants (
                    owner TEXT NOT NULL REFERENCES owners(ref),
                    position INTEGER NOT NULL,
                    provider TEXT NOT NULL,
                    tools TEXT NOT NULL,
                    methods TEXT NOT NULL,
                    paths TEXT NOT NULL,
                    connection_id TEXT,
                    expires_at DOUBLE PRECISION,
                    approval TEXT NOT NULL,
                    granted_at DOUBLE PRECISION NOT NULL,
                    PRIMARY KEY (owner, position)
                );
                CREATE TABLE org_access_policies (
                    org TEXT PRIMARY KEY NOT NULL,
                    read_tools TEXT NOT NULL,
                    proxy TEXT NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL
                );
                INSERT INTO capability_grants (owner, position, provider, tools, methods, paths, connection_id, expires_at, approval, granted_at)
                SELECT agent, ROW_NUMBER() OVER (PARTITION BY agent ORDER BY tool) - 1, substr(tool, 1, instr(tool, '.') - 1),
                    json_array(substr(tool, instr(tool, '.') + 1)), '[]', '[]', NULL, NULL, 'none', granted_at
                FROM grants WHERE instr(tool, '.') > 0;
                """)
        }
        migrator.registerMigration("v12: narrowed keys") { db in
            // A key's grants are one column: a JSON list of `StoredGrant`, as `StoredJSON` writes it.
            try db.execute(sql: """
                CREATE TABLE narrowed_keys (
                    key_hash TEXT PRIMARY KEY NOT NULL,
                    agent TEXT NOT NULL REFERENCES owners(ref),
                    parent_hash TEXT NOT NULL,
                    depth INTEGER NOT NULL,
                    grants TEXT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL
                );
                CREATE INDEX narrowed_keys_agent ON narrowed_keys(agent);
                """)
        }
        migrator.registerMigration("v13: approvals") { db in
            // The call and the provider's answer are sealed with the connection owner's data key.
            try db.execute(sql: """
                CREATE TABLE approvals (
                    id TEXT PRIMARY KEY NOT NULL,
                    agent TEXT NOT NULL REFERENCES owners(ref),
                    key_hash TEXT NOT NULL,
                    provider TEXT NOT NULL,
                    connection TEXT NOT NULL,
                    connection_owner TEXT NOT NULL,
                    summary TEXT NOT NULL,
                    sealed_call BLOB NOT NULL,
                    state TEXT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL,
                    decided_by TEXT,
                    decided_at DOUBLE PRECISION,
                    result_status INTEGER,
                    sealed_result BLOB,
                    finished_at DOUBLE PRECISION
                );
                CREATE INDEX approvals_agent ON approvals(agent);
                CREATE INDEX approvals_connection_owner ON approvals(connection_owner);
                CREATE INDEX approvals_state ON approvals(state);
                """)
        }
        migrator.registerMigration("v14: the platform owner and orgs' credential choices") { db in
            // The platform owns managed apps and API-key connections; its org is empty, so it matches no org.
            try db.execute(sql: """
                INSERT INTO owners (ref, kind, org, parent, created_at) VALUES ('platform', 'platform', '', NULL, 0);
                CREATE TABLE credential_choices (
                    org TEXT NOT NULL,
                    provider TEXT NOT NULL,
                    credentials TEXT NOT NULL,
                    agents_may_choose BOOLEAN NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL,
                    PRIMARY KEY (org, provider)
                );
                """)
        }
        migrator.registerMigration("v15: connections made on the platform's app") { db in
            try db.execute(sql: "ALTER TABLE connections ADD COLUMN credentials TEXT NOT NULL DEFAULT 'own'")
        }
        migrator.registerMigration("v16: usage per day, managed or own") { db in
            try db.execute(sql: """
                CREATE TABLE usage_daily (
                    org TEXT NOT NULL,
                    day BIGINT NOT NULL,
                    provider TEXT NOT NULL,
                    agent TEXT NOT NULL,
                    credentials TEXT NOT NULL,
                    calls BIGINT NOT NULL,
                    credits BIGINT NOT NULL,
                    PRIMARY KEY (org, day, provider, agent, credentials)
                );
                CREATE INDEX usage_daily_day ON usage_daily(day);
                """)
        }
        migrator.registerMigration("v17: remote MCP servers added by admins") { db in
            try db.execute(sql: """
                CREATE TABLE mcp_servers (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    url TEXT NOT NULL,
                    scopes TEXT NOT NULL,
                    tools_allowed TEXT,
                    tools_denied TEXT,
                    created_at DOUBLE PRECISION NOT NULL
                );
                """)
        }
        migrator.registerMigration("v18: clients registered at remote MCP servers") { db in
            try db.execute(sql: """
                CREATE TABLE mcp_clients (
                    provider TEXT NOT NULL,
                    org TEXT NOT NULL,
                    issuer TEXT NOT NULL,
                    client_id TEXT NOT NULL,
                    client_secret BLOB,
                    auth_method TEXT NOT NULL,
                    secret_expires_at DOUBLE PRECISION,
                    registered_at DOUBLE PRECISION NOT NULL,
                    PRIMARY KEY (provider, org)
                );
                """)
        }
        migrator.registerMigration("v19: agents' MCP sessions, for every replica") { db in
            try db.execute(sql: """
                CREATE TABLE mcp_sessions (
                    id_hash TEXT PRIMARY KEY,
                    agent TEXT NOT NULL,
                    key_hash TEXT,
                    initialize BLOB NOT NULL,
                    opened_at DOUBLE PRECISION NOT NULL,
                    last_used DOUBLE PRECISION NOT NULL
                );
                CREATE INDEX mcp_sessions_by_agent ON mcp_sessions (agent, last_used);
                CREATE INDEX mcp_sessions_by_use ON mcp_sessions (last_used);
                """)
        }
        migrator.registerMigration("v20: the audit log's hash chains") { db in
            try db.execute(sql: """
                ALTER TABLE audit_events ADD COLUMN chain TEXT;
                ALTER TABLE audit_events ADD COLUMN seq INTEGER;
                ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
                ALTER TABLE audit_events ADD COLUMN hash TEXT;
                CREATE UNIQUE INDEX audit_events_chain_seq ON audit_events(chain, seq);
                CREATE TABLE audit_chain_heads (
                    chain TEXT PRIMARY KEY,
                    seq INTEGER NOT NULL,
                    hash TEXT NOT NULL
                );
                """)
            try SQLiteStore.chainAuditBacklog(db)
        }
        migrator.registerMigration("v21: the change log the caches follow") { db in
            try db.execute(sql: changeLogSQL)
        }
        migrator.registerMigration("v22: no change logged for what no cache holds yet") { db in
            // A new owner, agent key or narrowed key changes nothing a cache holds (they keep only what they found),
            // and a data key's bytes never change: logging those made every replica forget everything whenever an
            // agent was created. A data key's deletion (crypto-shredding) names its owner.
            try db.execute(sql: """
                DROP TRIGGER owners_insert_noted;
                DROP TRIGGER agent_keys_insert_noted;
                DROP TRIGGER narrowed_keys_insert_noted;
                DROP TRIGGER data_keys_insert_noted;
                DROP TRIGGER data_keys_update_noted;
                DROP TRIGGER data_keys_delete_noted;
                CREATE TRIGGER data_keys_delete_noted AFTER DELETE ON data_keys BEGIN
                    INSERT INTO store_changes (topic, subject, wide, at) VALUES ('data_keys', OLD.owner, 1, \(databaseNow));
                END;
                """)
        }
        return migrator
    }

    /// The database's clock in seconds since 1970, as the change log stamps and prunes its rows.
    static let databaseNow = "(julianday('now') - 2440587.5) * 86400.0"

    /// `store_changes` and the triggers that fill it: every committed change to a table the hot path keeps in memory,
    /// from any process on the file. Times are the database's seconds since 1970, for pruning only.
    static var changeLogSQL: String {
        let now = databaseNow
        var sql = """
            CREATE TABLE store_changes (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                topic TEXT NOT NULL,
                subject TEXT,
                wide INTEGER NOT NULL,
                at DOUBLE PRECISION NOT NULL
            );
            CREATE INDEX store_changes_at ON store_changes(at);
            CREATE TRIGGER connections_inserted AFTER INSERT ON connections BEGIN
                INSERT INTO store_changes (topic, subject, wide, at) VALUES ('connections', NEW.id, 1, \(now));
            END;
            CREATE TRIGGER connections_deleted AFTER DELETE ON connections BEGIN
                INSERT INTO store_changes (topic, subject, wide, at) VALUES ('connections', OLD.id, 1, \(now));
            END;
            CREATE TRIGGER connections_updated AFTER UPDATE ON connections BEGIN
                INSERT INTO store_changes (topic, subject, wide, at) VALUES ('connections', NEW.id,
                    OLD.id IS NOT NEW.id OR OLD.provider IS NOT NEW.provider OR OLD.owner IS NOT NEW.owner OR OLD.state IS NOT NEW.state
                        OR OLD.is_default IS NOT NEW.is_default OR OLD.credentials IS NOT NEW.credentials,
                    \(now));
            END;

            """
        for table in ["consents", "credential_choices", "owners", "agent_keys", "narrowed_keys", "capability_grants", "org_access_policies", "data_keys"] {
            for event in ["INSERT", "UPDATE", "DELETE"] {
                sql += """
                    CREATE TRIGGER \(table)_\(event.lowercased())_noted AFTER \(event) ON \(table) BEGIN
                        INSERT INTO store_changes (topic, subject, wide, at) VALUES ('\(table)', NULL, 1, \(now));
                    END;

                    """
            }
        }
        return sql
    }
}
