import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: NarrowedKeyStore {
    public func addNarrowedKey(_ key: NarrowedKeyRecord) async throws {
        try locked { state in
            try state.requireOwner(key.agent)
            guard state.narrowedKeys[key.keyHash] == nil, state.agentKeys[key.keyHash] == nil else {
                throw MemoryStore.conflict("a key with this hash exists")
            }
            let liveAgentKey = state.agentKeys[key.parentHash].map { $0.agent == key.agent && $0.revokedAt == nil } ?? false
            let liveNarrowedKey = state.narrowedKeys[key.parentHash].map { $0.agent == key.agent && $0.expiresAt > key.createdAt } ?? false
            guard liveAgentKey || liveNarrowedKey else { throw NarrowedKeyRecord.parentGone }
            state.narrowedKeys[key.keyHash] = key
        }
    }

    public func narrowedKey(hash: String) async throws -> NarrowedKeyRecord? {
        locked { $0.narrowedKeys[hash] }
    }

    public func narrowedKeys(agent: OwnerRef) async throws -> [NarrowedKeyRecord] {
        locked { state in
            state.narrowedKeys.values.filter { $0.agent == agent }.sorted { ($0.createdAt, $0.keyHash) > ($1.createdAt, $1.keyHash) }
        }
    }

    public func purgeNarrowedKeys(expiredBefore: Date) async throws -> Int {
        locked { state in
            let expired = state.narrowedKeys.filter { $0.value.expiresAt < expiredBefore }.map(\.key)
            for hash in expired { state.narrowedKeys.removeValue(forKey: hash) }
            return expired.count
        }
    }
}
