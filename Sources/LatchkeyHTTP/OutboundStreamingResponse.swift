import Synchronization

/// A response whose head has arrived and whose body arrives in chunks, as the peer sends it.
///
/// The body must be read or dropped: while nobody reads, the transfer pauses once about
/// ``OutboundBodyStream/highWaterBytes`` are buffered (backpressure reaches the peer through TCP).
/// Dropping the last copy of the response (or calling ``OutboundBodyStream/cancel()``) ends the transfer.
public struct OutboundStreamingResponse: Sendable {
    /// The status code.
    public var status: Int
    /// The final response's headers, in wire order.
    public var headers: [OutboundHeader]
    /// The body, in chunks. Throws ``OutboundError`` when the transfer fails part-way
    /// (`.responseTooLarge` past the request's limit, `.timeout`, `.transport`).
    public var body: OutboundBodyStream

    public init(status: Int, headers: [OutboundHeader], body: OutboundBodyStream) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of the last header named `name`, compared case-insensitively; `nil` when absent.
    public func header(_ name: String) -> String? {
        headers.value(named: name)
    }

    /// Reads the whole body, at most `limit` bytes, and returns the buffered response.
    public func collected(upTo limit: Int) async throws -> OutboundResponse {
        var bytes: [UInt8] = []
        for try await chunk in body {
            guard bytes.count + chunk.count <= limit else {
                body.cancel()
                throw OutboundError(code: .responseTooLarge, message: "the response exceeded \(limit) bytes")
            }
            bytes.append(contentsOf: chunk)
        }
        return OutboundResponse(status: status, headers: headers, body: bytes)
    }
}

/// The chunks of a streamed response body. Iterate it once.
public struct OutboundBodyStream: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    /// Bytes buffered ahead of the reader before the transfer pauses.
    public static let highWaterBytes = 256 * 1024

    let consumer: Consumer

    init(channel: ResponseBodyChannel) {
        consumer = Consumer(channel: channel)
    }

    /// A body that is already complete (for transports that buffer).
    public static func complete(_ bytes: [UInt8]) -> OutboundBodyStream {
        let channel = ResponseBodyChannel()
        if !bytes.isEmpty { _ = channel.offer(bytes) }
        channel.finish(nil)
        return OutboundBodyStream(channel: channel)
    }

    /// The rest of the body, when all of it has already arrived (the transfer ended without a failure) and it holds at
    /// most `limit` bytes: taken, so that the stream then ends. Otherwise `nil`, and the stream is as it was.
    ///
    /// A small answer usually arrives with its head; the proxy then writes head and body at once instead of streaming.
    public func arrivedWhole(upTo limit: Int) -> [UInt8]? {
        consumer.channel.takeWhole(upTo: limit)
    }

    /// Stops the transfer; a reader then sees the end of the stream.
    public func cancel() {
        consumer.channel.abandon()
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(consumer: consumer)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let consumer: Consumer

        public mutating func next() async throws -> [UInt8]? {
            try await consumer.channel.next()
        }
    }

    /// Ends the transfer when the last copy of the stream goes away unread.
    final class Consumer: Sendable {
        let channel: ResponseBodyChannel
        init(channel: ResponseBodyChannel) { self.channel = channel }
        deinit { channel.abandon() }
    }
}

/// The hand-over between a transport's loop thread (curl's write callback, or a NIO channel) and the body's reader (a task).
final class ResponseBodyChannel: Sendable {
    enum Offer {
        /// The bytes were taken.
        case accepted
        /// Too much is buffered: pause the transfer; the bytes were not taken.
        case pause
        /// Nobody will read: abort the transfer.
        case abandoned
    }

    private struct State {
        var chunks: [[UInt8]] = []
        var head = 0
        var buffered = 0
        var paused = false
        var ended = false
        var failure: (any Error)?
        var abandoned = false
        var waiter: CheckedContinuation<[UInt8]?, any Error>?
        /// Called (outside the lock) to resume a paused transfer, or to cancel an abandoned one.
        var onDrain: (@Sendable () -> Void)?
        var onAbandon: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    /// Wires the channel to its transfer.
    func connect(onDrain: @escaping @Sendable () -> Void, onAbandon: @escaping @Sendable () -> Void) {
        state.withLock {
            $0.onDrain = onDrain
            $0.onAbandon = onAbandon
        }
    }

    /// Called by the write callback with a non-empty chunk.
    func offer(_ bytes: [UInt8]) -> Offer {
        let (result, waiter): (Offer, CheckedContinuation<[UInt8]?, any Error>?) = state.withLock { state in
            if state.abandoned { return (.abandoned, nil) }
            if let waiter = state.waiter {
                // A reader is waiting: nothing is buffered, hand the chunk over directly.
                state.waiter = nil
                return (.accepted, waiter)
            }
            if state.buffered >= OutboundBodyStream.highWaterBytes {
                state.paused = true
                return (.pause, nil)
            }
            state.chunks.append(bytes)
            state.buffered += bytes.count
            return (.accepted, nil)
        }
        waiter?.resume(returning: bytes)
        return result
    }

    /// What ``deliver(_:)`` tells a transport that pushes bytes (one that cannot take them back, unlike curl).
    enum Delivery {
        /// Taken; keep reading.
        case more
        /// Taken, but the reader is behind: stop reading until `onDrain`.
        case pause
        /// Nobody will read: end the transfer.
        case abandoned
    }

    /// Takes a non-empty chunk whatever is buffered, and says whether to stop reading from the peer.
    func deliver(_ bytes: [UInt8]) -> Delivery {
        let (result, waiter): (Delivery, CheckedContinuation<[UInt8]?, any Error>?) = state.withLock { state in
            if state.abandoned { return (.abandoned, nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (.more, waiter)
            }
            state.chunks.append(bytes)
            state.buffered += bytes.count
            if state.buffered >= OutboundBodyStream.highWaterBytes {
                state.paused = true
                return (.pause, nil)
            }
            return (.more, nil)
        }
        waiter?.resume(returning: bytes)
        return result
    }

    /// Ends the body, with an error when the transfer failed. Later calls do nothing.
    func finish(_ error: (any Error)?) {
        let waiter: CheckedContinuation<[UInt8]?, any Error>? = state.withLock { state in
            guard !state.ended else { return nil }
            state.ended = true
            state.failure = error
            state.onDrain = nil
            state.onAbandon = nil
            defer { state.waiter = nil }
            return state.waiter
        }
        if let error { waiter?.resume(throwing: error) } else { waiter?.resume(returning: nil) }
    }

    /// Everything buffered, when the transfer has ended without a failure and it holds at most `limit` bytes; the
    /// channel is then empty and ended. Otherwise `nil`, and nothing changes.
    func takeWhole(upTo limit: Int) -> [UInt8]? {
        state.withLock { state in
            guard state.ended, state.failure == nil, !state.abandoned, state.buffered <= limit else { return nil }
            let pending = state.chunks[state.head...]
            let whole = pending.count == 1 ? pending[pending.startIndex] : Array(pending.joined())
            state.chunks = []
            state.head = 0
            state.buffered = 0
            return whole
        }
    }

    /// The reader gave up: drop what is buffered and stop the transfer.
    func abandon() {
        let (cancel, waiter): ((@Sendable () -> Void)?, CheckedContinuation<[UInt8]?, any Error>?) = state.withLock { state in
            guard !state.abandoned else { return (nil, nil) }
            state.abandoned = true
            state.chunks = []
            state.head = 0
            state.buffered = 0
            defer {
                state.onAbandon = nil
                state.onDrain = nil
                state.waiter = nil
            }
            return (state.ended ? nil : state.onAbandon, state.waiter)
        }
        waiter?.resume(returning: nil)
        cancel?()
    }

    /// The next chunk; `nil` at the end.
    func next() async throws -> [UInt8]? {
        enum Step {
            case chunk([UInt8], (@Sendable () -> Void)?)
            case end((any Error)?)
            case wait
        }
        while true {
            let step: Step = state.withLock { state in
                if state.head < state.chunks.count {
                    let chunk = state.chunks[state.head]
                    state.head += 1
                    if state.head == state.chunks.count {
                        state.chunks.removeAll(keepingCapacity: true)
                        state.head = 0
                    }
                    state.buffered -= chunk.count
                    var drain: (@Sendable () -> Void)?
                    if state.paused, state.buffered <= OutboundBodyStream.highWaterBytes / 4 {
                        state.paused = false
                        drain = state.onDrain
                    }
                    return .chunk(chunk, drain)
                }
                if state.abandoned { return .end(nil) }
                if state.ended { return .end(state.failure) }
                return .wait
            }
            switch step {
            case .chunk(let chunk, let drain):
                drain?()
                return chunk
            case .end(let failure):
                if let failure { throw failure }
                return nil
            case .wait:
                // Paused implies bytes are buffered, so a waiting reader never leaves a paused transfer behind.
                let handed: [UInt8]? = try await withTaskCancellationHandler {
                    try await withCheckedThrowingContinuation { continuation in
                        let parked = state.withLock { state in
                            guard state.head == state.chunks.count, !state.ended, !state.abandoned else { return false }
                            state.waiter = continuation
                            return true
                        }
                        // The state changed between the two locks: look again (an empty chunk means "look again").
                        if !parked { continuation.resume(returning: []) }
                    }
                } onCancel: {
                    abandon()
                }
                guard let handed else { return nil }
                if !handed.isEmpty { return handed }
            }
        }
    }
}
