import Foundation
import LatchkeyModel
import LatchkeyStore
import LatchkeyStoreMemory
import Synchronization

/// The memory store through the roles key rotation uses (``KeyringStorage``): every call goes to the store, each
/// write that changes data keys or the wrapping version is noted in the test's ``Journal``, and one call can be made
/// to fail with ``fail(_:)``.
final class ObservedStore: DataKeyStore, KeyringStateStore, ReplicaRegistry {
    /// A store call that fails once.
    enum Fault: Sendable, CustomStringConvertible {
        /// `replaceDataKeys` fails before writing: its transaction is rolled back.
        case replaceBeforeWriting
        /// `replaceDataKeys` commits, then fails: the connection dropped before the answer came back.
        case replaceAfterWriting
        /// `setWrappingVersion` fails before writing: the process stops as it promotes a version.
        case promoting

        var description: String {
            switch self {
            case .replaceBeforeWriting: "re-wrapping fails before it writes"
            case .replaceAfterWriting: "re-wrapping fails after it wrote"
            case .promoting: "promoting a version fails"
            }
        }
    }

    let memory: MemoryStore
    private let journal: Journal
    private let pending = Mutex<Fault?>(nil)

    init(_ memory: MemoryStore, journal: Journal) {
        self.memory = memory
        self.journal = journal
    }

    /// Makes the next call that `fault` names fail.
    func fail(_ fault: Fault) { pending.withLock { $0 = fault } }

    private func take(_ fault: Fault) -> Bool {
        pending.withLock { pending in
            guard pending == fault else { return false }
            pending = nil
            return true
        }
    }

    private static func injected(_ fault: Fault) -> LatchkeyError { LatchkeyError(.internalError, "injected: \(fault)") }

    // MARK: DataKeyStore

    func dataKey(for owner: OwnerRef) async throws -> WrappedDataKeyRecord? { try await memory.dataKey(for: owner) }

    func insertDataKeyIfAbsent(_ key: WrappedDataKeyRecord) async throws -> WrappedDataKeyRecord {
        try await memory.insertDataKeyIfAbsent(key)
    }

    func deleteDataKey(for owner: OwnerRef) async throws -> Bool { try await memory.deleteDataKey(for: owner) }

    func dataKeyCounts() async throws -> [Int: Int] { try await memory.dataKeyCounts() }

    func dataKeys(notAtVersion version: Int, limit: Int) async throws -> [WrappedDataKeyRecord] {
        try await memory.dataKeys(notAtVersion: version, limit: limit)
    }

    func replaceDataKeys(_ replacements: [DataKeyReplacement]) async throws -> Int {
        if take(.replaceBeforeWriting) { throw Self.injected(.replaceBeforeWriting) }
        let applied = try await memory.replaceDataKeys(replacements)
        let versions = Set(replacements.map(\.replacement.keyVersion)).sorted().map(String.init).joined(separator: ", ")
        if !replacements.isEmpty { journal.note("store: re-wrapped \(applied) under \(versions)") }
        if take(.replaceAfterWriting) { throw Self.injected(.replaceAfterWriting) }
        return applied
    }

    // MARK: KeyringStateStore

    func wrappingVersion() async throws -> Int? { try await memory.wrappingVersion() }

    func setWrappingVersion(_ version: Int, expected: Int?, at time: Date) async throws -> Bool {
        if take(.promoting) { throw Self.injected(.promoting) }
        let written = try await memory.setWrappingVersion(version, expected: expected, at: time)
        if written { journal.note("store: wrapping version \(version)") }
        return written
    }

    // MARK: ReplicaRegistry

    func recordHeartbeat(_ heartbeat: ReplicaHeartbeat) async throws { try await memory.recordHeartbeat(heartbeat) }

    func replicas(seenSince: Date) async throws -> [ReplicaHeartbeat] { try await memory.replicas(seenSince: seenSince) }

    func removeReplica(id: String) async throws { try await memory.removeReplica(id: id) }

    func pruneReplicas(seenBefore: Date) async throws -> Int { try await memory.pruneReplicas(seenBefore: seenBefore) }
}
