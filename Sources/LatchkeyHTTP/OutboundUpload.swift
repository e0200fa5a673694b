import Synchronization

/// A request body that a task writes while the transport sends it (a streamed upload).
///
/// The writer calls ``write(_:)`` for each chunk and then ``finish()`` (or ``fail()``). A write waits
/// while more than ``highWaterBytes`` are queued, so a slow peer slows the writer down. Once the transfer
/// has ended, writes throw ``OutboundError/Code/cancelled``. An upload can be sent once: it cannot be
/// replayed on a retry or a redirect.
public final class OutboundUpload: Sendable {
    /// Bytes queued ahead of curl before ``write(_:)`` waits.
    public static let highWaterBytes = 256 * 1024

    /// The body's length when known (sent as `Content-Length`); `nil` sends it chunked.
    public let length: Int?

    private struct State {
        var chunks: [[UInt8]] = []
        var offset = 0
        var buffered = 0
        var finished = false
        var failed = false
        var closed = false
        /// The transport asked for bytes and got none: it waits for `onData`.
        var transportWaiting = false
        var writer: CheckedContinuation<Void, any Error>?
        var onData: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    public init(length: Int?) {
        self.length = length
    }

    /// Queues `bytes` for sending; waits while too much is queued.
    public func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        let (wake, mustWait): ((@Sendable () -> Void)?, Bool) = try state.withLock { state in
            guard !state.closed, !state.finished, !state.failed else {
                throw OutboundError(code: .cancelled, message: "the upload has ended")
            }
            state.chunks.append(bytes)
            state.buffered += bytes.count
            let wake = state.transportWaiting ? state.onData : nil
            state.transportWaiting = false
            return (wake, state.buffered > Self.highWaterBytes)
        }
        wake?()
        guard mustWait else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let resumeNow: Result<Void, any Error>? = state.withLock { state in
                if state.closed { return .failure(OutboundError(code: .cancelled, message: "the upload has ended")) }
                if state.buffered <= Self.highWaterBytes { return .success(()) }
                state.writer = continuation
                return nil
            }
            if let resumeNow { continuation.resume(with: resumeNow) }
        }
    }

    /// Marks the end of the body.
    public func finish() {
        end { $0.finished = true }
    }

    /// Aborts the upload: the transfer fails instead of sending a truncated body.
    public func fail() {
        end { $0.failed = true }
    }

    private func end(_ mark: (inout State) -> Void) {
        let wake: (@Sendable () -> Void)? = state.withLock { state in
            mark(&state)
            let wake = state.transportWaiting ? state.onData : nil
            state.transportWaiting = false
            return wake
        }
        wake?()
    }

    // MARK: - Transfer side

    /// Wires the upload to its transfer: `onData` unpauses it.
    func connect(onData: @escaping @Sendable () -> Void) {
        state.withLock { $0.onData = onData }
    }

    /// Gives up on the upload (it will not be sent, or no longer): a waiting or later write throws.
    public func cancel() {
        close()
    }

    /// The transfer ended: a waiting or later write throws.
    func close() {
        let writer: CheckedContinuation<Void, any Error>? = state.withLock { state in
            state.closed = true
            state.onData = nil
            state.chunks = []
            state.buffered = 0
            defer { state.writer = nil }
            return state.writer
        }
        writer?.resume(throwing: OutboundError(code: .cancelled, message: "the upload has ended"))
    }

    /// What ``take()`` hands a transport that pushes bytes (the event-loop client).
    enum Take {
        /// Every queued chunk, and whether the body ends after them.
        case chunks([[UInt8]], finished: Bool)
        /// Nothing queued yet: `onData` fires when there is.
        case waiting
        /// The writer failed the upload: abort the request.
        case failed
    }

    /// Takes every queued chunk at once (the event loop, which writes them to its channel).
    func take() -> Take {
        let (result, writer): (Take, CheckedContinuation<Void, any Error>?) = state.withLock { state in
            if state.failed { return (.failed, nil) }
            guard !state.chunks.isEmpty else {
                if state.finished { return (.chunks([], finished: true), nil) }
                state.transportWaiting = true
                return (.waiting, nil)
            }
            var chunks = state.chunks
            if state.offset > 0 { chunks[0] = Array(chunks[0][state.offset...]) }
            state.chunks = []
            state.offset = 0
            state.buffered = 0
            defer { state.writer = nil }
            return (.chunks(chunks, finished: state.finished), state.writer)
        }
        writer?.resume()
        return result
    }

    /// What the read callback returns.
    enum Read {
        case bytes(Int)
        case pause
        case abort
    }

    /// Fills `buffer` from the queue (loop thread, read callback).
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Read {
        let (result, writer): (Read, CheckedContinuation<Void, any Error>?) = state.withLock { state in
            if state.failed { return (.abort, nil) }
            guard !state.chunks.isEmpty else {
                if state.finished { return (.bytes(0), nil) }
                state.transportWaiting = true
                return (.pause, nil)
            }
            var written = 0
            while written < buffer.count, !state.chunks.isEmpty {
                let chunk = state.chunks[0]
                let take = min(buffer.count - written, chunk.count - state.offset)
                chunk.withUnsafeBytes { source in
                    let slice = UnsafeRawBufferPointer(rebasing: source[state.offset..<(state.offset + take)])
                    UnsafeMutableRawBufferPointer(rebasing: buffer[written..<(written + take)]).copyMemory(from: slice)
                }
                written += take
                state.offset += take
                if state.offset == chunk.count {
                    state.chunks.removeFirst()
                    state.offset = 0
                }
            }
            state.buffered -= written
            var writer: CheckedContinuation<Void, any Error>?
            if state.buffered <= Self.highWaterBytes / 2 {
                writer = state.writer
                state.writer = nil
            }
            return (.bytes(written), writer)
        }
        writer?.resume()
        return result
    }
}
