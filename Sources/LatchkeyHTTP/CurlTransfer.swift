import CCurl
import Synchronization

/// What a finished transfer produced, before redirect handling.
struct CurlCompletion: Sendable {
    var response: OutboundResponse
    /// The absolute target of a `Location` header, resolved by curl against the request URL.
    var redirectURL: String?
    /// For a streamed transfer: where the body goes on arriving (`response.body` stays empty).
    var channel: ResponseBodyChannel?
}

/// One easy handle, configured for one ``OutboundRequest``, and the buffers its callbacks fill.
///
/// Threading: built and configured on the caller's thread; from submission on, the easy handle,
/// the buffers and the callbacks belong to the multi thread alone, which also cleans up the
/// handle. Only `control` is touched from several threads, behind its `Mutex`.
final class CurlTransfer: @unchecked Sendable {
    /// The most header bytes accepted per transfer (all hops of interim responses included).
    static let maxHeaderBytes = 256 * 1024

    private(set) var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    let errorBuffer: UnsafeMutablePointer<CChar>
    private let method: String
    private let origin: String
    /// Strings a curl error text must not contain to be shown: path, query, user info, header values.
    private let redactions: [String]
    let maxBodyBytes: Int
    /// Which addresses the transfer may connect to.
    let addressPolicy: OutboundAddressPolicy
    /// The last address the policy refused, for the error when no other address served.
    var refusedAddress: String?

    private var body: [UInt8] = []
    private var headers: [OutboundHeader] = []
    private var headerBytes = 0
    private var exceededLimit = false
    /// Streamed mode: the body goes here instead of `body`, and the caller resumes once the head is in.
    let channel: ResponseBodyChannel?
    private var streamedBytes = 0
    private var headDelivered = false
    /// A streamed request body, read by the read callback.
    let upload: OutboundUpload?

    private struct Control {
        var continuation: CheckedContinuation<CurlCompletion, any Error>?
        var cancelRequested = false
    }
    private let control = Mutex(Control())

    /// Creates an easy handle for `request`, whose URL has already passed the policy as `target`.
    /// With `streaming`, the caller resumes when the head has arrived and the body follows through a channel.
    /// With `upload`, the request body is read from it (and `request.body` is ignored).
    /// With `caBundle` (PEM), the peer's certificate is verified against it instead of curl's default bundle.
    init(request: OutboundRequest, target: ParsedURL, streaming: Bool = false, upload: OutboundUpload? = nil, caBundle: [UInt8]? = nil) throws {
        try OutboundRequest.validate(request)
        guard let easy = curl_easy_init() else {
            throw OutboundError(code: .transport, message: "curl_easy_init failed")
        }
        self.easy = easy
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        self.method = request.method
        self.origin = target.origin
        self.redactions =
            (ParsedURL.sensitiveParts(of: request.url) + request.headers.map(\.value)).filter { $0.count >= 3 }
        self.maxBodyBytes = max(0, request.maxResponseBytes)
        self.addressPolicy = request.addressPolicy
        self.channel = streaming ? ResponseBodyChannel() : nil
        self.upload = upload
        try configure(easy, request, target, caBundle: caBundle)
    }

    deinit {
        releaseHandle()
        errorBuffer.deallocate()
    }

    /// Frees the easy handle. The multi thread calls it right after `curl_multi_remove_handle`;
    /// `deinit` covers transfers that never reached the multi handle.
    func releaseHandle() {
        if let easy {
            curl_easy_cleanup(easy)
            self.easy = nil
        }
        if let headerList {
            curl_slist_free_all(headerList)
            self.headerList = nil
        }
    }

    // MARK: - Continuation and cancellation (any thread)

    /// Stores the continuation to resume on completion. Returns `false`, storing nothing,
    /// when cancellation was requested first; the caller then resumes it itself.
    func attach(_ continuation: CheckedContinuation<CurlCompletion, any Error>) -> Bool {
        control.withLock { control in
            guard !control.cancelRequested else { return false }
            control.continuation = continuation
            return true
        }
    }

    /// Marks the transfer cancelled, so the multi thread drops it if it has not added it yet.
    func requestCancel() {
        control.withLock { $0.cancelRequested = true }
    }

    var isCancelRequested: Bool {
        control.withLock { $0.cancelRequested }
    }

    /// Ends the transfer: resumes the continuation if it still waits, ends a streamed body (with the
    /// failure, if any) and closes the upload. Later calls do nothing.
    func finish(_ result: Result<CurlCompletion, any Error>) {
        resume(result)
        if case .failure(let error) = result {
            channel?.finish(error is CancellationError ? OutboundError(code: .cancelled, message: "\(method) \(origin): the transfer was cancelled") : error)
        } else {
            channel?.finish(nil)
        }
        upload?.close()
    }

    /// Resumes the continuation once; later calls do nothing.
    private func resume(_ result: Result<CurlCompletion, any Error>) {
        let continuation = control.withLock { control in
            defer { control.continuation = nil }
            return control.continuation
        }
        continuation?.resume(with: result)
    }

    // MARK: - Multi thread

    /// The completion for a transfer curl reported done with `code`. Call before `releaseHandle()`.
    func completion(code: CURLcode) -> Result<CurlCompletion, any Error> {
        guard let easy else {
            return .failure(OutboundError(code: .transport, message: "\(method) \(origin): transfer has no handle"))
        }
        if exceededLimit {
            return .failure(
                OutboundError(
                    code: .responseTooLarge,
                    message: "\(method) \(origin): the response exceeded \(maxBodyBytes) bytes",
                    curlCode: Int(code.rawValue)
                )
            )
        }
        guard code == CURLE_OK else {
            if let refusedAddress, code == CURLE_COULDNT_CONNECT {
                return .failure(OutboundError(
                    code: .refusedAddress,
                    message: "\(method) \(origin): \(refusedAddress) is a private, link-local or reserved address, which this request may not reach",
                    curlCode: Int(code.rawValue)))
            }
            if upload != nil, code == CURLE_ABORTED_BY_CALLBACK {
                // CURLE_ABORTED_BY_CALLBACK: the upload's writer failed.
                return .failure(OutboundError(code: .transport, message: "\(method) \(origin): the request body was aborted", curlCode: 42))
            }
            return .failure(error(for: code))
        }
        var status = 0
        _ = latchkey_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        var location: UnsafeMutableRawPointer?
        _ = latchkey_easy_getinfo_pointer(easy, CURLINFO_REDIRECT_URL, &location)
        let redirectURL = location.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) }
        return .success(
            CurlCompletion(
                response: OutboundResponse(status: status, headers: headers, body: body),
                redirectURL: redirectURL,
                channel: channel
            )
        )
    }

    private func error(for code: CURLcode) -> OutboundError {
        let curlCode = Int(code.rawValue)
        var message = "\(method) \(origin): \(String(cString: curl_easy_strerror(code)))"
        let detail = String(cString: errorBuffer).trimmingTrailingNewlines()
        // curl's detail text is useful (which certificate check failed, after how many ms), but
        // it is free text: show it only when it holds none of the request's secret-bearing parts.
        if !detail.isEmpty, !redactions.contains(where: { detail.contains($0) }) {
            message += " (\(detail))"
        }
        return OutboundError(code: OutboundError.Code(curlCode: curlCode), message: message, curlCode: curlCode)
    }

    /// The write callback's work: append, or refuse (returning 0 aborts with `CURLE_WRITE_ERROR`).
    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        if let channel {
            guard !bytes.isEmpty else { return 0 }
            guard streamedBytes + bytes.count <= maxBodyBytes else {
                exceededLimit = true
                return 0
            }
            switch channel.offer(Array(bytes)) {
            case .accepted:
                streamedBytes += bytes.count
                return bytes.count
            case .pause:
                return latchkey_writefunc_pause  // curl keeps these bytes and offers them again on unpause
            case .abandoned:
                return 0
            }
        }
        guard body.count + bytes.count <= maxBodyBytes else {
            exceededLimit = true
            return 0
        }
        body.append(contentsOf: bytes)
        return bytes.count
    }

    /// The header callback's work: one raw line per call, status lines included.
    func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) -> Int {
        headerBytes += bytes.count
        guard headerBytes <= Self.maxHeaderBytes else {
            exceededLimit = true
            return 0
        }
        var line = Substring(String(decoding: bytes, as: UTF8.self))
        while let last = line.last, last == "\r" || last == "\n" || last == "\r\n" {
            line = line.dropLast()
        }
        if line.isEmpty {
            // The end of a header block. For a streamed transfer, the first final (non-1xx) one is the head.
            if let channel, !headDelivered, let easy {
                var status = 0
                _ = latchkey_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
                if status >= 200 {
                    headDelivered = true
                    resume(.success(CurlCompletion(response: OutboundResponse(status: status, headers: headers), channel: channel)))
                }
            }
        } else if line.hasPrefix("HTTP/") {
            // A new status line: an interim (1xx) or proxy CONNECT response came before.
            // Keep only the final response's headers.
            headers = []
        } else if let first = line.first, first == " " || first == "\t" {
            // obs-fold (RFC 9112 §5.2): a continuation of the previous field's value.
            if !headers.isEmpty {
                headers[headers.count - 1].value += " " + line.trimmingHTTPWhitespace()
            }
        } else if let colon = line.firstIndex(of: ":") {
            headers.append(
                OutboundHeader(
                    name: String(line[..<colon]),
                    value: line[line.index(after: colon)...].trimmingHTTPWhitespace()
                )
            )
        }
        return bytes.count
    }

}
