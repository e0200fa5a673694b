import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: ConnectionStore {
    public func insert(_ connection: Connection, sealedCredential: [UInt8]?) async throws {
        try locked { try $0.connections.insert(StoredConnection(connection: connection, sealedCredential: sealedCredential)) }
    }

    /// Inserts many connections at once, each as `insert` stores it (for seeding). All or none: fails with `conflict`,
    /// storing nothing, when a row breaks a rule (an id that exists, a second default of an owner and provider).
    public func insert(_ batch: [StoredConnection]) async throws {
        try transaction { state in
            for stored in batch { try state.connections.insert(stored) }
        }
    }

    public func connection(id: ConnectionID) async throws -> StoredConnection? {
        locked { $0.connections.rows[id] }
    }

    public func connections(owners: [OwnerRef], provider: ProviderID?) async throws -> [Connection] {
        try await storedConnections(owners: owners, provider: provider).map(\.connection)
    }

    public func storedConnections(owners: [OwnerRef], provider: ProviderID?) async throws -> [StoredConnection] {
        let owners = Set(owners)
        return locked { state in
            state.connections.oldestFirst { stored in
                owners.contains(stored.connection.owner) && (provider.map { $0 == stored.connection.provider } ?? true)
            }
        }
    }

    public func connectionsExpiring(before: Date, limit: Int) async throws -> [StoredConnection] {
        locked { state in
            let due = state.connections.rows.values.compactMap { stored -> (Date, StoredConnection)? in
                guard let expiry = stored.connection.expiresAt, expiry < before, [ConnectionState.active, .error].contains(stored.connection.state),
                    stored.sealedCredential != nil
                else { return nil }
                return (expiry, stored)
            }
            // Soonest first; the id only makes ties come out the same every time.
            return Array(
                due.sorted { ($0.0, ByteOrder($0.1.connection.id.rawValue)) < ($1.0, ByteOrder($1.1.connection.id.rawValue)) }
                    .prefix(max(0, limit)).map(\.1))
        }
    }

    public func allConnections(ownerPrefix: OwnerRef?, provider: ProviderID?, state: ConnectionState?) async throws -> [Connection] {
        let wanted = state
        return locked { state in
            state.connections.oldestFirst { stored in
                let c = stored.connection
                return (ownerPrefix?.encloses(c.owner) ?? true) && (provider.map { $0 == c.provider } ?? true)
                    && (wanted.map { $0 == c.state } ?? true)
            }.map(\.connection)
        }
    }

    public func sealedConnections(after: ConnectionID?, limit: Int) async throws -> [StoredConnection] {
        let after = ByteOrder(after?.rawValue ?? "")
        return locked { state in
            Array(
                state.connections.rows.values.filter { $0.sealedCredential != nil && ByteOrder($0.connection.id.rawValue) > after }
                    .sorted { ByteOrder($0.connection.id.rawValue) < ByteOrder($1.connection.id.rawValue) }
                    .prefix(max(0, limit)))
        }
    }

    public func connectionCountsByState() async throws -> [ConnectionState: Int] {
        locked { state in state.connections.rows.values.reduce(into: [ConnectionState: Int]()) { $0[$1.connection.state, default: 0] += 1 } }
    }

    public func update(_ connection: Connection, sealedCredential: [UInt8]?, expectedVersion: Int) async throws -> Bool {
        try locked { try $0.connections.compareAndSwap(connection, sealedCredential: sealedCredential, expectedVersion: expectedVersion) }
    }
}
