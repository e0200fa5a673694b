/// Gathers writes that arrive while one is being committed and commits them together: one durable commit (one
/// fsync on SQLite) for a whole batch instead of one per write, with every caller still waiting for its own
/// write to be durable.
///
/// A caller submits one item and gets its own result. The first caller starts a flush; items arriving during it
/// go in the next flush. No timer is involved: under light load each write commits alone and at once.
public actor GroupCommit<Item: Sendable, Output: Sendable> {
    private var pending: [(Item, CheckedContinuation<Output, any Error>)] = []
    private var flushing = false
    private let commit: @Sendable ([Item]) async throws -> [Output]
    /// The most items in one commit.
    public let maxBatch: Int

    public init(maxBatch: Int = 256, commit: @escaping @Sendable ([Item]) async throws -> [Output]) {
        self.maxBatch = maxBatch
        self.commit = commit
    }

    public func submit(_ item: Item) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            pending.append((item, continuation))
            if !flushing {
                flushing = true
                Task { await self.flush() }
            }
        }
    }

    /// Items waiting for the next commit (not those being committed now).
    public var waiting: Int { pending.count }

    private func flush() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            do {
                let outputs = try await commit(batch.map(\.0))
                guard outputs.count == batch.count else {
                    throw GroupCommitError.resultCountMismatch(expected: batch.count, got: outputs.count)
                }
                for (entry, output) in zip(batch, outputs) { entry.1.resume(returning: output) }
            } catch {
                for entry in batch { entry.1.resume(throwing: error) }
            }
        }
        flushing = false
    }
}

public enum GroupCommitError: Error {
    /// The commit returned a different number of results than it was given items.
    case resultCountMismatch(expected: Int, got: Int)
}
