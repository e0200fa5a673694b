import Foundation
import PostgresNIO

/// The PostgreSQL schema, as append-only migrations named like the SQLite store's. A shipped migration is never edited.
///
/// Several replicas may start at once: all of them run `migrate`, and a transaction-scoped advisory lock (keyed by the
/// schema) lets one apply what is missing while the others wait, then find nothing left to do. DDL is transactional in
/// PostgreSQL, so a migration that fails leaves nothing half-applied.
enum PostgresMigrations {
    static let all: [(id: String, sql: String)] = [
        (
            "v1: owners, keys, apps, connections, pending flows, audit",
            """
            CREATE TABLE owners (
                ref TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                org TEXT NOT NULL,
                parent TEXT REFERENCES owners(ref),
                created_at DOUBLE PRECISION NOT NULL
            );
            CREATE INDEX owners_org_kind ON owners(org, kind);
            CREATE TABLE agent_keys (
                key_hash TEXT PRIMARY KEY,
                agent TEXT NOT NULL REFERENCES owners(ref),
                created_at DOUBLE PRECISION NOT NULL,
                revoked_at DOUBLE PRECISION
            );
            CREATE INDEX agent_keys_agent ON agent_keys(agent);
            CREATE TABLE data_keys (
                owner TEXT PRIMARY KEY,
                key_version BIGINT NOT NULL,
                ciphertext BYTEA NOT NULL
            );
            CREATE TABLE apps (
                provider TEXT NOT NULL,
                owner TEXT NOT NULL,
                client_id TEXT NOT NULL,
                client_secret BYTEA,
                scopes TEXT NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (provider, owner)
            );
            CREATE TABLE connections (
                id TEXT PRIMARY KEY,
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
                is_default BOOLEAN NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                version BIGINT NOT NULL,
                credential BYTEA
            );
            CREATE INDEX connections_owner_provider ON connections(owner, provider);
            CREATE INDEX connections_org ON connections(org);
            CREATE UNIQUE INDEX connections_one_default ON connections(owner, provider) WHERE is_default;
            CREATE TABLE connect_sessions (
                token_hash TEXT PRIMARY KEY,
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
                state_hash TEXT PRIMARY KEY,
                session_token_hash TEXT NOT NULL,
                provider TEXT NOT NULL,
                owner TEXT NOT NULL,
                verifier BYTEA,
                browser_binding_hash TEXT NOT NULL,
                scopes TEXT NOT NULL,
                config TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL
            );
            CREATE TABLE audit_events (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
            """
        ),
        (
            "v2: grants and credits",
            """
            CREATE TABLE grants (
                agent TEXT NOT NULL REFERENCES owners(ref),
                tool TEXT NOT NULL,
                granted_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (agent, tool)
            );
            CREATE TABLE credit_pools (
                org TEXT PRIMARY KEY,
                balance BIGINT NOT NULL CHECK (balance >= 0)
            );
            CREATE TABLE credit_usage (
                org TEXT NOT NULL,
                provider TEXT NOT NULL,
                agent TEXT NOT NULL,
                calls BIGINT NOT NULL,
                credits BIGINT NOT NULL,
                PRIMARY KEY (org, provider, agent)
            );
            """
        ),
        ("v3: index connections by expiry for the background refresher", "CREATE INDEX connections_expires_at ON connections(expires_at)"),
        ("v4: index data keys by master-key version for rotation", "CREATE INDEX data_keys_version ON data_keys(key_version, owner)"),
        (
            "v5: refresh leases",
            // One row per connection ever refreshed; the fence only grows, so the row stays after a release.
            """
            CREATE TABLE refresh_leases (
                connection_id TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                fence BIGINT NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL
            )
            """
        ),
        (
            "v6: org webhooks, their delivery queue and attempts",
            """
            CREATE TABLE webhooks (
                id TEXT PRIMARY KEY,
                org TEXT NOT NULL UNIQUE,
                url TEXT NOT NULL,
                events TEXT NOT NULL,
                secret BYTEA NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            );
            CREATE TABLE webhook_deliveries (
                seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
                org TEXT NOT NULL,
                event_id TEXT NOT NULL,
                event TEXT NOT NULL,
                connection_id TEXT,
                payload BYTEA NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
                attempts BIGINT NOT NULL CHECK (attempts >= 0),
                created_at DOUBLE PRECISION NOT NULL,
                next_attempt_at DOUBLE PRECISION,
                last_attempt_at DOUBLE PRECISION,
                last_status_code BIGINT,
                last_error TEXT,
                delivered_at DOUBLE PRECISION,
                UNIQUE (webhook_id, event_id)
            );
            CREATE INDEX webhook_deliveries_queue ON webhook_deliveries(webhook_id, seq) WHERE status = 'pending';
            CREATE INDEX webhook_deliveries_org ON webhook_deliveries(org, seq);
            CREATE TABLE webhook_attempts (
                delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
                attempt BIGINT NOT NULL CHECK (attempt >= 1),
                at DOUBLE PRECISION NOT NULL,
                status_code BIGINT,
                error TEXT,
                duration_ms BIGINT NOT NULL,
                PRIMARY KEY (delivery_id, attempt)
            );
            """
        ),
        (
            "v7: dashboard sessions and proxy call counts shared by replicas",
            """
            CREATE TABLE admin_sessions (
                id_hash TEXT PRIMARY KEY,
                expires_at DOUBLE PRECISION NOT NULL,
                message BYTEA
            );
            CREATE INDEX admin_sessions_expiry ON admin_sessions(expires_at);
            CREATE TABLE proxy_call_counts (
                provider TEXT NOT NULL,
                hour BIGINT NOT NULL,
                succeeded BIGINT NOT NULL CHECK (succeeded >= 0),
                failed BIGINT NOT NULL CHECK (failed >= 0),
                PRIMARY KEY (hour, provider)
            );
            """
        ),
        (
            "v8: replicas and the agreed master-key version",
            """
            CREATE TABLE replicas (
                id TEXT PRIMARY KEY,
                address TEXT NOT NULL,
                started_at DOUBLE PRECISION NOT NULL,
                seen_at DOUBLE PRECISION NOT NULL,
                key_fingerprints TEXT NOT NULL,
                wrapping_version BIGINT NOT NULL
            );
            CREATE TABLE keyring_state (
                id BIGINT PRIMARY KEY CHECK (id = 1),
                wrapping_version BIGINT NOT NULL CHECK (wrapping_version >= 1),
                changed_at DOUBLE PRECISION NOT NULL
            );
            """
        ),
        (
            "v9: links bound to their install, owners' revocation time",
            """
            ALTER TABLE connect_sessions ADD COLUMN install_id TEXT;
            ALTER TABLE owners ADD COLUMN revoked_at DOUBLE PRECISION
            """
        ),
        (
            "v10: people, sign-in, person sessions and consents",
            // Emails are stored lowercased by the store, so the unique index is case-insensitive in effect.
            """
            CREATE TABLE people (
                person TEXT PRIMARY KEY REFERENCES owners(ref),
                org TEXT NOT NULL,
                email TEXT,
                issuer TEXT,
                subject TEXT,
                CHECK ((issuer IS NULL) = (subject IS NULL))
            );
            CREATE UNIQUE INDEX people_org_email ON people(org, email) WHERE email IS NOT NULL;
            CREATE UNIQUE INDEX people_issuer_subject ON people(org, issuer, subject) WHERE subject IS NOT NULL;
            CREATE TABLE sign_in_providers (
                org TEXT PRIMARY KEY,
                issuer TEXT NOT NULL,
                client_id TEXT NOT NULL,
                client_secret BYTEA,
                updated_at DOUBLE PRECISION NOT NULL
            );
            CREATE TABLE sign_in_links (
                token_hash TEXT PRIMARY KEY,
                person TEXT NOT NULL REFERENCES owners(ref),
                created_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL,
                used_at DOUBLE PRECISION
            );
            CREATE TABLE sign_in_states (
                state_hash TEXT PRIMARY KEY,
                org TEXT NOT NULL,
                nonce_hash TEXT NOT NULL,
                verifier BYTEA NOT NULL,
                browser_binding_hash TEXT NOT NULL,
                next TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL
            );
            CREATE TABLE person_sessions (
                id_hash TEXT PRIMARY KEY,
                person TEXT NOT NULL,
                org TEXT NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL,
                message BYTEA
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
            CREATE INDEX consents_person ON consents(person)
            """
        ),
        (
            "v11: capability grants and org access policies",
            // Each legacy write-tool grant (`provider.tool`) becomes a one-tool grant of its agent, in tool order (byte
            // order, as the SQLite store and Swift sort). The legacy table stays. A name without a provider never matched
            // a tool, so it is left behind.
            """
            CREATE TABLE capability_grants (
                owner TEXT NOT NULL REFERENCES owners(ref),
                position BIGINT NOT NULL,
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
                org TEXT PRIMARY KEY,
                read_tools TEXT NOT NULL,
                proxy TEXT NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            );
            INSERT INTO capability_grants (owner, position, provider, tools, methods, paths, connection_id, expires_at, approval, granted_at)
            SELECT agent, ROW_NUMBER() OVER (PARTITION BY agent ORDER BY tool COLLATE "C") - 1, split_part(tool, '.', 1),
                json_build_array(substring(tool from position('.' in tool) + 1))::text, '[]', '[]', NULL, NULL, 'none', granted_at
            FROM grants WHERE position('.' in tool) > 0
            """
        ),
        (
            "v12: narrowed keys",
            // A key's grants are one column: a JSON list of `StoredGrant`, as `StoredJSON` writes it.
            """
            CREATE TABLE narrowed_keys (
                key_hash TEXT PRIMARY KEY,
                agent TEXT NOT NULL REFERENCES owners(ref),
                parent_hash TEXT NOT NULL,
                depth BIGINT NOT NULL,
                grants TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL
            );
            CREATE INDEX narrowed_keys_agent ON narrowed_keys(agent)
            """
        ),
        (
            "v13: approvals",
            // The call and the provider's answer are sealed with the connection owner's data key.
            """
            CREATE TABLE approvals (
                id TEXT PRIMARY KEY,
                agent TEXT NOT NULL REFERENCES owners(ref),
                key_hash TEXT NOT NULL,
                provider TEXT NOT NULL,
                connection TEXT NOT NULL,
                connection_owner TEXT NOT NULL,
                summary TEXT NOT NULL,
                sealed_call BYTEA NOT NULL,
                state TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL,
                decided_by TEXT,
                decided_at DOUBLE PRECISION,
                result_status BIGINT,
                sealed_result BYTEA,
                finished_at DOUBLE PRECISION
            );
            CREATE INDEX approvals_agent ON approvals(agent);
            CREATE INDEX approvals_connection_owner ON approvals(connection_owner);
            CREATE INDEX approvals_state ON approvals(state)
            """
        ),
    ]

    /// Applies every migration not yet recorded, in order, under the schema's advisory lock.
    /// - Parameter schema: the schema to create first when the store uses one of its own; nil for the search path's.
    static func migrate(_ store: PostgresStore, schema: String?) async throws {
        try await store.transaction { tx in
            // A migration (an index on a big table) or the wait for another replica's may outlast the per-statement
            // timeout meant for requests; this transaction alone runs without it.
            try await tx.execute("SET LOCAL statement_timeout = 0")
            // Transaction-scoped: released by COMMIT or ROLLBACK, even when this replica dies mid-way. Taken before
            // anything else, as even `CREATE SCHEMA IF NOT EXISTS` fails (unique violation) when two run at once.
            try await tx.execute("SELECT pg_advisory_xact_lock(hashtext(\("latchkey.migrations." + (schema ?? ""))))")
            if let schema { try await tx.execute(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)")) }
            try await tx.execute(
                """
                CREATE TABLE IF NOT EXISTS latchkey_migrations (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY,
                    id TEXT PRIMARY KEY,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """)
            let applied = Set(try await tx.execute("SELECT id FROM latchkey_migrations").map { try $0.value("id", as: String.self) })
            for migration in all where !applied.contains(migration.id) {
                // The extended protocol takes one statement at a time; migration SQL holds no `;` inside literals.
                for statement in migration.sql.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) })
                where !statement.isEmpty {
                    try await tx.execute(PostgresQuery(unsafeSQL: statement))
                }
                try await tx.execute("INSERT INTO latchkey_migrations (id) VALUES (\(migration.id))")
            }
        }
    }

    /// The applied migration identifiers, oldest first.
    static func applied(_ store: PostgresStore) async throws -> [String] {
        try await store.execute("SELECT id FROM latchkey_migrations ORDER BY seq").map { try $0.value("id", as: String.self) }
    }
}
