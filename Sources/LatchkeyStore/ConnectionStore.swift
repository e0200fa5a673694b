import Foundation
import LatchkeyModel

/// Connections and their sealed credentials.
///
/// Contract:
/// - `insert` fails with `conflict` when the id exists.
/// - `update(_:sealedCredential:expectedVersion:)` is a compare-and-swap: it writes only when the stored
///   version equals `expectedVersion`, then stores `expectedVersion + 1`, and returns false otherwise.
/// - At most one connection per (owner, provider) is the default.
public protocol ConnectionStore: Sendable {
    func insert(_ connection: Connection, sealedCredential: [UInt8]?) async throws
    func connection(id: ConnectionID) async throws -> StoredConnection?
    /// Connections held by any of `owners`, optionally of one provider, oldest first.
    func connections(owners: [OwnerRef], provider: ProviderID?) async throws -> [Connection]
    /// Like `connections(owners:provider:)`, with each sealed credential: what a call needs, in one read.
    func storedConnections(owners: [OwnerRef], provider: ProviderID?) async throws -> [StoredConnection]
    /// OAuth connections in use (`active` or `error`, with a credential) whose token expires before `before`,
    /// soonest first, at most `limit`.
    func connectionsExpiring(before: Date, limit: Int) async throws -> [StoredConnection]
    /// Every connection matching the filters (admin listing), oldest first.
    func allConnections(ownerPrefix: OwnerRef?, provider: ProviderID?, state: ConnectionState?) async throws -> [Connection]
    /// At most `limit` connections that hold a sealed credential, ordered by id, starting after `after` (keyset
    /// pagination, for walks over every credential such as an integrity check).
    func sealedConnections(after: ConnectionID?, limit: Int) async throws -> [StoredConnection]
    /// How many connections there are in each state (for metrics); states with none may be absent.
    func connectionCountsByState() async throws -> [ConnectionState: Int]
    /// Writes metadata and credential when the stored version is `expectedVersion`. A nil credential clears it.
    func update(_ connection: Connection, sealedCredential: [UInt8]?, expectedVersion: Int) async throws -> Bool
}

/// A connection with its credential still sealed.
public struct StoredConnection: Sendable, Equatable {
    public var connection: Connection
    public var sealedCredential: [UInt8]?
    public init(connection: Connection, sealedCredential: [UInt8]?) {
        self.connection = connection
        self.sealedCredential = sealedCredential
    }
}
