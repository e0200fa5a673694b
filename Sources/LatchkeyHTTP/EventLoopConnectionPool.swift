import NIOCore
import Synchronization

/// One keep-alive connection of the event-loop client: its channel and the handler at its pipeline's tail.
final class PooledConnection: Sendable {
    let channel: any Channel
    /// Touched on the channel's event loop only.
    let handler: NIOLoopBound<HTTP1ConnectionHandler>
    let key: EventLoopConnectionPool.Key

    init(channel: any Channel, handler: NIOLoopBound<HTTP1ConnectionHandler>, key: EventLoopConnectionPool.Key) {
        self.channel = channel
        self.handler = handler
        self.key = key
    }
}

/// The event-loop client's idle keep-alive connections, per event loop and origin.
///
/// A connection serves calls on the loop it was opened on only, so a call finds its loop's connections without
/// crossing threads. The newest idle connection is handed out first (the warmest; the oldest ones age out). At most
/// `maxIdlePerKey` wait per loop and origin; one idle for `idleTimeout` is closed.
final class EventLoopConnectionPool: Sendable {
    struct Key: Hashable, Sendable {
        var loop: ObjectIdentifier
        var scheme: String
        var host: String
        var port: Int
    }

    private struct State {
        var idle: [Key: [PooledConnection]] = [:]
        /// Every open connection, idle or busy, for ``shutdown()``.
        var open: [ObjectIdentifier: PooledConnection] = [:]
        var closed = false
    }

    private let state = Mutex(State())
    let maxIdlePerKey: Int
    let idleTimeout: TimeAmount

    init(maxIdlePerKey: Int, idleTimeout: TimeAmount) {
        self.maxIdlePerKey = maxIdlePerKey
        self.idleTimeout = idleTimeout
    }

    /// The newest idle, still open connection for `key`, taken out of the pool.
    func take(_ key: Key) -> PooledConnection? {
        state.withLock { state in
            while let connection = state.idle[key]?.popLast() {
                if connection.channel.isActive { return connection }
            }
            return nil
        }
    }

    /// Puts a connection that finished an exchange back (its loop). Closes it instead when the pool is shut down or full.
    func put(_ connection: PooledConnection) {
        let kept = state.withLock { state in
            guard !state.closed, state.idle[connection.key, default: []].count < maxIdlePerKey else { return false }
            state.idle[connection.key, default: []].append(connection)
            return true
        }
        let handler = connection.handler.value
        guard kept else {
            handler.close()
            return
        }
        handler.idleSince = .now()
        // One idle check per connection at a time, not a task per exchange (at thousands of calls a second, a
        // 60-second task per exchange piled up hundreds of thousands of scheduled tasks and their memory).
        if !handler.idleCheckPending { scheduleIdleCheck(connection, at: .now() + idleTimeout) }
    }

    /// Closes `connection` at `time` if it has sat in the pool since `idleTimeout` before; else looks again when it
    /// would have. A connection busy at the check is looked at again when it comes back.
    private func scheduleIdleCheck(_ connection: PooledConnection, at time: NIODeadline) {
        connection.handler.value.idleCheckPending = true
        connection.channel.eventLoop.scheduleTask(deadline: time) { [self] in
            let handler = connection.handler.value
            handler.idleCheckPending = false
            guard isIdle(connection), let since = handler.idleSince else { return }
            if NIODeadline.now() >= since + idleTimeout {
                if remove(connection) { handler.close() }
            } else {
                scheduleIdleCheck(connection, at: since + idleTimeout)
            }
        }
    }

    private func isIdle(_ connection: PooledConnection) -> Bool {
        state.withLock { $0.idle[connection.key]?.contains { $0 === connection } ?? false }
    }

    /// Counts a newly opened connection as open (closed at once when the pool is shut down).
    func register(_ connection: PooledConnection) {
        let closed = state.withLock { state in
            if !state.closed { state.open[ObjectIdentifier(connection)] = connection }
            return state.closed
        }
        if closed { connection.handler.value.close() }
    }

    /// Forgets a connection that closed.
    func forget(_ connection: PooledConnection) {
        state.withLock { state in
            state.open[ObjectIdentifier(connection)] = nil
            if let index = state.idle[connection.key]?.firstIndex(where: { $0 === connection }) {
                state.idle[connection.key]?.remove(at: index)
            }
        }
    }

    /// Takes an idle `connection` out of the pool (it timed out idle); whether it was there.
    @discardableResult
    func remove(_ connection: PooledConnection) -> Bool {
        state.withLock { state in
            guard let index = state.idle[connection.key]?.firstIndex(where: { $0 === connection }) else { return false }
            state.idle[connection.key]?.remove(at: index)
            return true
        }
    }

    /// Closes every connection, failing the exchanges in flight with `.cancelled`; connections opened later close at once.
    func shutdown() {
        let open = state.withLock { state in
            state.closed = true
            defer {
                state.idle = [:]
                state.open = [:]
            }
            return Array(state.open.values)
        }
        for connection in open {
            connection.channel.eventLoop.execute {
                connection.handler.value.abort(OutboundError(code: .cancelled, message: "the HTTP client was shut down"))
            }
        }
    }

    /// How many connections are open, idle or busy (for tests).
    var openCount: Int {
        state.withLock { $0.open.count }
    }

    /// How many idle connections the pool holds (for tests).
    var idleCount: Int {
        state.withLock { $0.idle.values.reduce(0) { $0 + $1.count } }
    }
}
