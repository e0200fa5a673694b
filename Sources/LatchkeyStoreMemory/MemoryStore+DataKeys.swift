import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: DataKeyStore {
    public func dataKey(for owner: OwnerRef) async throws -> WrappedDataKeyRecord? {
        locked { $0.dataKeys[owner] }
    }

    public func insertDataKeyIfAbsent(_ key: WrappedDataKeyRecord) async throws -> WrappedDataKeyRecord {
        locked { state in
            if let stored = state.dataKeys[key.owner] { return stored }
            state.dataKeys[key.owner] = key
            return key
        }
    }

    public func deleteDataKey(for owner: OwnerRef) async throws -> Bool {
        locked { $0.dataKeys.removeValue(forKey: owner) != nil }
    }

    public func dataKeyCounts() async throws -> [Int: Int] {
        locked { state in state.dataKeys.values.reduce(into: [Int: Int]()) { $0[$1.keyVersion, default: 0] += 1 } }
    }

    public func dataKeys(notAtVersion version: Int, limit: Int) async throws -> [WrappedDataKeyRecord] {
        locked { state in
            Array(
                state.dataKeys.values.filter { $0.keyVersion != version }
                    .sorted { ($0.keyVersion, ByteOrder($0.owner.description)) < ($1.keyVersion, ByteOrder($1.owner.description)) }
                    .prefix(max(0, limit)))
        }
    }

    public func replaceDataKeys(_ replacements: [DataKeyReplacement]) async throws -> Int {
        locked { state in
            var replaced = 0
            for r in replacements where state.dataKeys[r.expected.owner] == r.expected {
                state.dataKeys[r.expected.owner] = r.replacement
                replaced += 1
            }
            return replaced
        }
    }
}
