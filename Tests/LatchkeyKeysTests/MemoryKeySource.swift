import LatchkeyCrypto
import LatchkeyModel
import Synchronization

/// The master key file, in memory: what `MasterKeyFile` promises, shared by every process of a test as a key file
/// on a shared disk is, and kept across their restarts.
///
/// It keeps ``MasterKeySource``'s contract: `append` refuses a version that is there, `remove` ignores versions that
/// are not and never leaves the source without a key. Each change is written to the test's ``Journal``, and one
/// `remove` can be made to fail (a disk that refuses the write) with ``failNextRemove()``.
final class MemoryKeySource: MasterKeySource {
    private struct State {
        var keys: [Int: [UInt8]]
        var failNextRemove = false
    }

    private let state: Mutex<State>
    private let journal: Journal

    /// A key file holding `keys`.
    init(_ keys: [Int: [UInt8]], journal: Journal) {
        state = Mutex(State(keys: keys))
        self.journal = journal
    }

    var kind: String { "file" }
    var isWritable: Bool { true }

    /// The versions the file holds now.
    var versions: [Int] { state.withLock { $0.keys.keys.sorted() } }

    /// The material of `version`, as an operator would copy it from the file.
    func material(_ version: Int) -> [UInt8]? { state.withLock { $0.keys[version] } }

    func load() throws(LatchkeyError) -> [Int: [UInt8]] {
        let keys = state.withLock { $0.keys }
        guard !keys.isEmpty else { throw LatchkeyError(.invalidRequest, "memory key file: holds no master key", field: "master_key_file") }
        return keys
    }

    func append(version: Int, material: [UInt8]) throws(LatchkeyError) {
        try state.withLock { (state: inout State) throws(LatchkeyError) in
            guard state.keys[version] == nil else {
                throw LatchkeyError(.conflict, "memory key file: master key version \(version) is already there", field: "master_key_file")
            }
            state.keys[version] = material
        }
        journal.note("key source: added \(version)")
    }

    func remove(versions: Set<Int>) throws(LatchkeyError) {
        try state.withLock { (state: inout State) throws(LatchkeyError) in
            if state.failNextRemove {
                state.failNextRemove = false
                throw LatchkeyError(.internalError, "memory key file: cannot write (the test's disk refused)", field: "master_key_file")
            }
            guard state.keys.keys.contains(where: { !versions.contains($0) }) else {
                throw LatchkeyError(.conflict, "memory key file: removing versions \(versions.sorted()) would leave no master key", field: "master_key_file")
            }
            for version in versions { state.keys[version] = nil }
        }
        journal.note("key source: removed \(versions.sorted().map(String.init).joined(separator: ", "))")
    }

    /// Makes the next `remove` fail, changing nothing.
    func failNextRemove() { state.withLock { $0.failNextRemove = true } }
}

/// What the doubles saw, in order: the key source's and the store's writes, for tests that check what happened first.
final class Journal: Sendable {
    private let entries = Mutex<[String]>([])

    func note(_ entry: String) { entries.withLock { $0.append(entry) } }

    /// Everything noted since the last call, oldest first; the journal starts again empty.
    func take() -> [String] { entries.withLock { entries in defer { entries = [] }; return entries } }
}
