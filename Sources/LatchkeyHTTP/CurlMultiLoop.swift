import CCurl
import Foundation
import Synchronization

/// curl's multi handle, driven by one dedicated thread.
///
/// The thread blocks in `curl_multi_poll`. Other threads hand it work through `shared`
/// (behind a `Mutex`) and wake it with `curl_multi_wakeup`, the one multi function that is
/// safe to call from another thread. Everything else about the multi handle and the easy
/// handles in it happens on the loop thread.
final class CurlMultiLoop: @unchecked Sendable {
    private struct Shared {
        var submitted: [CurlTransfer] = []
        var cancelled: [CurlTransfer] = []
        var unpaused: [CurlTransfer] = []
        var stopping = false
    }

    /// Set once; used from other threads only for `curl_multi_wakeup`, and only while
    /// `shared` is locked and not stopping, so never after the loop thread frees it.
    private let multi: UnsafeMutableRawPointer?
    private let shared = Mutex(Shared())
    /// Transfers in the multi handle, by easy handle. Loop thread only.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]

    init(maxConnectionsPerHost: Int) {
        _ = CurlGlobal.initialized
        multi = curl_multi_init()
        guard let multi else {
            shared.withLock { $0.stopping = true }
            return
        }
        _ = latchkey_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, max(1, maxConnectionsPerHost))
        // The cache of idle connections: room for every host's connections many times over, so that a burst of
        // calls reuses them instead of closing one to open another (curl's default follows the transfers added).
        _ = latchkey_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(64, 4 * maxConnectionsPerHost))
        Thread { [self] in
            Thread.current.name = "latchkey-curl"
            run()
        }.start()
    }

    /// Queues `transfer` for the loop thread. Returns `false` once the loop is stopping.
    func submit(_ transfer: CurlTransfer) -> Bool {
        shared.withLock { shared in
            guard !shared.stopping, let multi else { return false }
            shared.submitted.append(transfer)
            curl_multi_wakeup(multi)
            return true
        }
    }

    /// Asks the loop thread to remove `transfer` and fail it with `CancellationError`.
    func cancel(_ transfer: CurlTransfer) {
        transfer.requestCancel()
        shared.withLock { shared in
            guard !shared.stopping, let multi else { return }
            shared.cancelled.append(transfer)
            curl_multi_wakeup(multi)
        }
    }

    /// Asks the loop thread to resume `transfer` after a callback paused it (more upload bytes, or a
    /// reader that drained the response body).
    func unpause(_ transfer: CurlTransfer) {
        shared.withLock { shared in
            guard !shared.stopping, let multi else { return }
            shared.unpaused.append(transfer)
            curl_multi_wakeup(multi)
        }
    }

    /// Stops the loop thread, which fails every pending transfer with `.cancelled`. Idempotent;
    /// returns without waiting for the thread.
    func shutdown() {
        shared.withLock { shared in
            guard !shared.stopping, let multi else { return }
            shared.stopping = true
            curl_multi_wakeup(multi)
        }
    }

    // MARK: - Loop thread

    private func run() {
        guard let multi else { return }
        var running: Int32 = 0
        while true {
            let (submitted, cancelled, unpaused, stopping) = shared.withLock { shared in
                defer {
                    shared.submitted = []
                    shared.cancelled = []
                    shared.unpaused = []
                }
                return (shared.submitted, shared.cancelled, shared.unpaused, shared.stopping)
            }
            if stopping {
                let error = OutboundError(code: .cancelled, message: "the HTTP client was shut down")
                for transfer in submitted { transfer.finish(.failure(error)) }
                for transfer in active.values { remove(transfer, from: multi, result: .failure(error)) }
                break
            }
            for transfer in submitted { add(transfer, to: multi) }
            for transfer in cancelled where transfer.easy.flatMap({ active[$0] }) === transfer {
                remove(transfer, from: multi, result: .failure(CancellationError()))
            }
            for transfer in unpaused {
                // curl may call the write or read callback from inside curl_easy_pause.
                if let easy = transfer.easy, active[easy] === transfer { _ = latchkey_easy_unpause(easy) }
            }

            _ = curl_multi_perform(multi, &running)
            var remaining: Int32 = 0
            while let message = curl_multi_info_read(multi, &remaining) {
                var easy: UnsafeMutableRawPointer?
                var code = CURLE_OK
                guard latchkey_multi_info_done(message, &easy, &code) == 1, let easy,
                    let transfer = active[easy]
                else { continue }
                remove(transfer, from: multi, result: transfer.completion(code: code))
            }
            // Waits for socket activity, curl's next timer, or curl_multi_wakeup; the 1 s cap is
            // only a backstop.
            _ = curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        active = [:]
        curl_multi_cleanup(multi)
    }

    private func add(_ transfer: CurlTransfer, to multi: UnsafeMutableRawPointer) {
        // Cancelled between submission and now: its cancel request may already have been drained.
        if transfer.isCancelRequested {
            transfer.releaseHandle()
            transfer.finish(.failure(CancellationError()))
            return
        }
        guard let easy = transfer.easy else { return }
        let code = curl_multi_add_handle(multi, easy)
        guard code == CURLM_OK else {
            transfer.releaseHandle()
            transfer.finish(
                .failure(
                    OutboundError(
                        code: .transport,
                        message: "curl_multi_add_handle failed: \(String(cString: curl_multi_strerror(code)))"
                    )
                )
            )
            return
        }
        active[easy] = transfer
    }

    /// Takes `transfer` out of the multi handle, frees its easy handle, then resumes its caller.
    private func remove(
        _ transfer: CurlTransfer,
        from multi: UnsafeMutableRawPointer,
        result: Result<CurlCompletion, any Error>
    ) {
        if let easy = transfer.easy {
            active[easy] = nil
            _ = curl_multi_remove_handle(multi, easy)
        }
        transfer.releaseHandle()
        transfer.finish(result)
    }
}

/// `curl_global_init`, run once per process (a `static let` initializer is thread-safe).
enum CurlGlobal {
    static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
}
