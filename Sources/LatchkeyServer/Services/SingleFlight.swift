import Synchronization

/// Concurrent cache misses for one key share one read: the first caller starts it, the others arriving before it
/// ends await the same result (or error). Without this, every call that arrives while a one-second cache entry is
/// being refilled reads the store too.
///
/// The read runs in its own task, so a caller that goes away (a dropped request) does not cancel it for the others.
final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let inFlight = Mutex<[Key: Task<Value, any Error>]>([:])

    /// The result of `read` for `key`, shared with every concurrent caller of the same key.
    func value(for key: Key, read: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let (task, started) = inFlight.withLock { map -> (Task<Value, any Error>, Bool) in
            if let running = map[key] { return (running, false) }
            let task = Task { try await read() }
            map[key] = task
            return (task, true)
        }
        guard started else { return try await task.value }
        let result = await task.result
        _ = inFlight.withLock { $0.removeValue(forKey: key) }
        return try result.get()
    }

    /// Reads in flight now (for tests).
    var count: Int { inFlight.withLock { $0.count } }
}
