import Foundation
import LatchkeyModel
import LatchkeyStore

/// The connections with their sealed credentials, under the SQL schemas' rules: ids are unique, and an owner has at
/// most one default connection per provider.
struct ConnectionTable: Sendable {
    private(set) var rows: [ConnectionID: StoredConnection] = [:]
    /// The default connection of each owner and provider (the engines' partial unique index).
    private var defaults: [DefaultKey: ConnectionID] = [:]

    private struct DefaultKey: Hashable, Sendable {
        var owner: OwnerRef
        var provider: ProviderID
        init(_ c: Connection) {
            owner = c.owner
            provider = c.provider
        }
    }

    /// Adds a row; `conflict` when its id exists or it would be a second default.
    mutating func insert(_ stored: StoredConnection) throws {
        let c = stored.connection
        guard rows[c.id] == nil else { throw MemoryStore.conflict("connection \(c.id) already exists") }
        try checkDefault(c)
        rows[c.id] = stored
        if c.isDefault { defaults[DefaultKey(c)] = c.id }
    }

    /// The compare-and-swap write: every field when the stored version is `expectedVersion`, which then becomes
    /// `expectedVersion + 1`. False when the row is missing or at another version; `conflict` when the write would
    /// make a second default.
    mutating func compareAndSwap(_ connection: Connection, sealedCredential: [UInt8]?, expectedVersion: Int) throws -> Bool {
        guard let old = rows[connection.id]?.connection, old.version == expectedVersion else { return false }
        try checkDefault(connection)
        if old.isDefault { defaults[DefaultKey(old)] = nil }
        var written = connection
        written.version = expectedVersion + 1
        rows[connection.id] = StoredConnection(connection: written, sealedCredential: sealedCredential)
        if written.isDefault { defaults[DefaultKey(written)] = written.id }
        return true
    }

    /// Throws unless `c` may be stored: not a default, or the only default of its owner and provider.
    private func checkDefault(_ c: Connection) throws {
        guard c.isDefault, let holder = defaults[DefaultKey(c)], holder != c.id else { return }
        throw MemoryStore.conflict("\(c.owner) already has a default \(c.provider) connection")
    }

    /// The rows matching `isIncluded`, oldest first (then by id), as the engines list them.
    func oldestFirst(where isIncluded: (StoredConnection) -> Bool) -> [StoredConnection] {
        rows.values.filter(isIncluded).sorted {
            ($0.connection.createdAt, ByteOrder($0.connection.id.rawValue)) < ($1.connection.createdAt, ByteOrder($1.connection.id.rawValue))
        }
    }
}
