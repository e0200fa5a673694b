extension PostgresMigrations {
    /// Wave 1: owners, keys, apps, connections, flows, audit, grants and credits, leases, webhooks, replicas.
    static let spine: [(id: String, sql: String)] = [
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
    ]
}
