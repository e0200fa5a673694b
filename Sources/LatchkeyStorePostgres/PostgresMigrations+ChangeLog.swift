extension PostgresMigrations {
    /// The change log the caches follow, and what it leaves out since, statement by statement (function bodies hold `;`).
    ///
    /// `store_changes` records every committed change to a table the hot path keeps in memory, with the transaction
    /// that made it, so a follower can read on from the oldest transaction still running at its last read
    /// (sequence numbers are handed out before commit, not in commit order).
    static let changeLog: [(id: String, statements: [String])] = [
        (
            "v21: the change log the caches follow",
            [
                """
                CREATE TABLE store_changes (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
                    topic TEXT NOT NULL,
                    subject TEXT,
                    wide BOOLEAN NOT NULL,
                    at DOUBLE PRECISION NOT NULL DEFAULT extract(epoch FROM clock_timestamp())
                )
                """,
                "CREATE INDEX store_changes_tx ON store_changes (tx)",
                "CREATE INDEX store_changes_at ON store_changes (at)",
                """
                CREATE FUNCTION latchkey_connection_changed() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'INSERT' THEN
                        INSERT INTO store_changes (topic, subject, wide) VALUES ('connections', NEW.id, true);
                    ELSIF TG_OP = 'DELETE' THEN
                        INSERT INTO store_changes (topic, subject, wide) VALUES ('connections', OLD.id, true);
                    ELSE
                        INSERT INTO store_changes (topic, subject, wide) VALUES ('connections', NEW.id,
                            (OLD.id, OLD.provider, OLD.owner, OLD.state, OLD.is_default, OLD.credentials)
                                IS DISTINCT FROM (NEW.id, NEW.provider, NEW.owner, NEW.state, NEW.is_default, NEW.credentials));
                    END IF;
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE FUNCTION latchkey_table_changed() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO store_changes (topic, subject, wide) VALUES (TG_TABLE_NAME, NULL, true);
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER connections_noted AFTER INSERT OR UPDATE OR DELETE ON connections
                FOR EACH ROW EXECUTE FUNCTION latchkey_connection_changed()
                """,
            ]
                + ["consents", "credential_choices", "owners", "agent_keys", "narrowed_keys", "capability_grants", "org_access_policies", "data_keys"]
                .map { table in
                    """
                    CREATE TRIGGER \(table)_noted AFTER INSERT OR UPDATE OR DELETE ON \(table)
                    FOR EACH ROW EXECUTE FUNCTION latchkey_table_changed()
                    """
                }
        ),
        (
            "v22: no change logged for what no cache holds yet",
            // A new owner, agent key or narrowed key changes nothing a cache holds (they keep only what they found),
            // and a data key's bytes never change: logging those made every replica forget everything whenever an
            // agent was created. A data key's deletion (crypto-shredding) names its owner.
            ["owners", "agent_keys", "narrowed_keys"].flatMap { table in
                [
                    "DROP TRIGGER \(table)_noted ON \(table)",
                    """
                    CREATE TRIGGER \(table)_noted AFTER UPDATE OR DELETE ON \(table)
                    FOR EACH ROW EXECUTE FUNCTION latchkey_table_changed()
                    """,
                ]
            } + [
                "DROP TRIGGER data_keys_noted ON data_keys",
                """
                CREATE FUNCTION latchkey_data_key_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO store_changes (topic, subject, wide) VALUES ('data_keys', OLD.owner, true);
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER data_keys_noted AFTER DELETE ON data_keys
                FOR EACH ROW EXECUTE FUNCTION latchkey_data_key_deleted()
                """,
            ]
        ),
    ]
}
