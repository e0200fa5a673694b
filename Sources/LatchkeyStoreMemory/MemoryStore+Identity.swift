import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore {
    /// An owner's row: when it was created and (latest) revoked.
    struct OwnerRow: Sendable {
        var createdAt: Date
        var revokedAt: Date?
    }

    /// An agent key's row, by hash.
    struct AgentKeyRow: Sendable {
        var agent: OwnerRef
        var createdAt: Date
        var revokedAt: Date?
    }
}

extension MemoryStore.State {
    /// Fails with `conflict`, as the SQL engines' foreign keys to `owners` do, unless `owner` exists.
    func requireOwner(_ owner: OwnerRef) throws {
        guard owners[owner] != nil else { throw MemoryStore.conflict("\(owner) does not exist") }
    }
}

extension MemoryStore: IdentityStore {
    public func createOwner(_ owner: OwnerRef, at: Date) async throws {
        try locked { state in
            guard state.owners[owner] == nil else { throw LatchkeyError(.conflict, "\(owner) already exists", field: "id") }
            if let parent = owner.parent, state.owners[parent] == nil {
                throw LatchkeyError(.notFound, "\(parent) does not exist", field: parent.kind.rawValue)
            }
            state.owners[owner] = OwnerRow(createdAt: at)
        }
    }

    public func ownerExists(_ owner: OwnerRef) async throws -> Bool {
        locked { $0.owners[owner] != nil }
    }

    public func orgNames() async throws -> [String] {
        locked { state in state.owners.keys.filter { $0.kind == .org }.map(\.org).sorted { ByteOrder($0) < ByteOrder($1) } }
    }

    public func owners(kind: OwnerRef.Kind, org: String) async throws -> [OwnerRef] {
        locked { state in
            state.owners.keys.filter { $0.kind == kind && $0.org == org }.sorted { ByteOrder($0.description) < ByteOrder($1.description) }
        }
    }

    public func addAgentKey(hash: String, agent: OwnerRef, at: Date) async throws {
        try locked { state in
            try state.requireOwner(agent)
            try state.agentKeys.insertNew(AgentKeyRow(agent: agent, createdAt: at), for: hash, "an agent key with this hash")
        }
    }

    public func agent(forKeyHash hash: String) async throws -> OwnerRef? {
        locked { state in state.agentKeys[hash].flatMap { $0.revokedAt == nil ? $0.agent : nil } }
    }

    public func revokeAgentKeys(agent: OwnerRef, at: Date) async throws -> Int {
        locked { state in
            var revoked = 0
            for (hash, key) in state.agentKeys where key.agent == agent && key.revokedAt == nil {
                state.agentKeys[hash]?.revokedAt = at
                revoked += 1
            }
            for (hash, key) in state.narrowedKeys where key.agent == agent {
                state.narrowedKeys[hash] = nil
                revoked += 1
            }
            return revoked
        }
    }

    public func markOwnerRevoked(_ owner: OwnerRef, at: Date) async throws {
        locked { state in
            // As the engines' `MAX(COALESCE(revoked_at, 0), at)`: a later call moves the time forward, never back.
            guard let row = state.owners[owner] else { return }
            state.owners[owner]?.revokedAt = max(row.revokedAt ?? Date(timeIntervalSince1970: 0), at)
        }
    }

    public func latestRevocation(of owners: [OwnerRef]) async throws -> Date? {
        locked { state in owners.compactMap { state.owners[$0]?.revokedAt }.max() }
    }
}
