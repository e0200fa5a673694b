extension PostgresMigrations {
    /// Wave 2: trust (links bound to installs, people, consents), capability grants, narrowed keys, approvals, managed
    /// credentials.
    static let waveTwo: [(id: String, sql: String)] = [
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
        (
            "v14: the platform owner and orgs' credential choices",
            // The platform owns managed apps and API-key connections; its org is empty, so it matches no org.
            """
            INSERT INTO owners (ref, kind, org, parent, created_at) VALUES ('platform', 'platform', '', NULL, 0);
            CREATE TABLE credential_choices (
                org TEXT NOT NULL,
                provider TEXT NOT NULL,
                credentials TEXT NOT NULL,
                agents_may_choose BOOLEAN NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (org, provider)
            )
            """
        ),
        (
            "v15: connections made on the platform's app",
            "ALTER TABLE connections ADD COLUMN credentials TEXT NOT NULL DEFAULT 'own'"
        ),
        (
            "v16: usage per day, managed or own",
            """
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
            CREATE INDEX usage_daily_day ON usage_daily(day)
            """
        ),
        (
            "v17: remote MCP servers added by admins",
            """
            CREATE TABLE mcp_servers (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                url TEXT NOT NULL,
                scopes TEXT NOT NULL,
                tools_allowed TEXT,
                tools_denied TEXT,
                created_at DOUBLE PRECISION NOT NULL
            )
            """
        ),
        (
            "v18: clients registered at remote MCP servers",
            """
            CREATE TABLE mcp_clients (
                provider TEXT NOT NULL,
                org TEXT NOT NULL,
                issuer TEXT NOT NULL,
                client_id TEXT NOT NULL,
                client_secret BYTEA,
                auth_method TEXT NOT NULL,
                secret_expires_at DOUBLE PRECISION,
                registered_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (provider, org)
            )
            """
        ),
        (
            "v19: agents' MCP sessions, for every replica",
            """
            CREATE TABLE mcp_sessions (
                id_hash TEXT PRIMARY KEY,
                agent TEXT NOT NULL,
                key_hash TEXT,
                initialize BYTEA NOT NULL,
                opened_at DOUBLE PRECISION NOT NULL,
                last_used DOUBLE PRECISION NOT NULL
            );
            CREATE INDEX mcp_sessions_by_agent ON mcp_sessions (agent, last_used);
            CREATE INDEX mcp_sessions_by_use ON mcp_sessions (last_used)
            """
        ),
        (
            "v20: the audit log's hash chains",
            """
            ALTER TABLE audit_events ADD COLUMN chain TEXT;
            ALTER TABLE audit_events ADD COLUMN seq BIGINT;
            ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
            ALTER TABLE audit_events ADD COLUMN hash TEXT;
            CREATE UNIQUE INDEX audit_events_chain_seq ON audit_events(chain, seq);
            CREATE TABLE audit_chain_heads (
                chain TEXT PRIMARY KEY,
                seq BIGINT NOT NULL,
                hash TEXT NOT NULL
            )
            """
        ),
    ]
}
