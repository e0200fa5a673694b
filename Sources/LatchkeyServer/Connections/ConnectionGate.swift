import Synchronization

/// Counts the connections the HTTP server holds, admitting at most `limit` at once.
final class ConnectionGate: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes a place for a new connection; false when all `limit` are taken (nothing was taken then).
    func admit() -> Bool {
        if open.wrappingAdd(1, ordering: .relaxed).newValue <= limit { return true }
        open.wrappingSubtract(1, ordering: .relaxed)
        return false
    }

    /// Gives back the place of a connection that closed.
    func release() {
        open.wrappingSubtract(1, ordering: .relaxed)
    }
}
