import Synchronization

/// Concurrent cache misses for one key share one read: the first caller starts it, the others arriving before it
/// ends await the same result (or error). Without this, every call that arrives while a one-second cache entry is
/// being refilled reads the store too.
///
/// The read runs in its own task, so a caller that goes away (a dropped request) does not cancel it for the others.
public final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Flight {
        var task: Task<Value, any Error>
        var callers: Int
    }

    private let inFlight = Mutex<[Key: Flight]>([:])

    public init() {}

    /// The result of `read` for `key`, shared with every concurrent caller of the same key.
    public func value(for key: Key, read: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let (task, started) = inFlight.withLock { map -> (Task<Value, any Error>, Bool) in
            if map[key] != nil {
                map[key]!.callers += 1
                return (map[key]!.task, false)
            }
            let task = Task { try await read() }
            map[key] = Flight(task: task, callers: 1)
            return (task, true)
        }
        guard started else { return try await task.value }
        let result = await task.result
        _ = inFlight.withLock { $0.removeValue(forKey: key) }
        return try result.get()
    }

    /// How many callers wait on the read of `key` now (0 when none is in flight).
    public func callers(for key: Key) -> Int { inFlight.withLock { $0[key]?.callers ?? 0 } }

    /// Reads in flight now.
    public var count: Int { inFlight.withLock { $0.count } }
}
