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
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let method: String
    private let origin: String
    /// Strings a curl error text must not contain to be shown: path, query, user info, header values.
    private let redactions: [String]
    private let maxBodyBytes: Int

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
    init(request: OutboundRequest, target: ParsedURL, streaming: Bool = false, upload: OutboundUpload? = nil) throws {
        try Self.validate(request)
        guard let easy = curl_easy_init() else {
            throw OutboundError(code: .transport, message: "curl_easy_init failed")
        }
        self.easy = easy
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        self.method = request.method
        self.origin = target.origin
        self.redactions =
            (target.sensitiveParts + request.headers.map(\.value)).filter { $0.count >= 3 }
        self.maxBodyBytes = max(0, request.maxResponseBytes)
        self.channel = streaming ? ResponseBodyChannel() : nil
        self.upload = upload
        try configure(easy, request, target)
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
    fileprivate func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
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
    fileprivate func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) -> Int {
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

    // MARK: - Configuration (caller's thread, before submission)

    private static func validate(_ request: OutboundRequest) throws {
        guard !request.method.isEmpty, request.method.utf8.allSatisfy(isTokenByte) else {
            throw OutboundError(code: .transport, message: "the request method is not an HTTP token")
        }
        for header in request.headers {
            guard !header.name.isEmpty, header.name.utf8.allSatisfy(isTokenByte) else {
                throw OutboundError(code: .transport, message: "a request header name is not an HTTP token")
            }
            guard !header.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw OutboundError(
                    code: .transport,
                    message: "request header \(header.name) holds CR, LF or NUL"
                )
            }
        }
    }

    /// RFC 9110 §5.6.2 `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private func configure(_ easy: UnsafeMutableRawPointer, _ request: OutboundRequest, _ target: ParsedURL) throws {
        func check(_ code: CURLcode, _ what: String) throws {
            guard code == CURLE_OK else {
                throw OutboundError(
                    code: .transport,
                    message: "curl refused option \(what): \(String(cString: curl_easy_strerror(code)))",
                    curlCode: Int(code.rawValue)
                )
            }
        }
        func set(_ option: CURLoption, _ value: Int, _ what: String) throws {
            try check(latchkey_easy_setopt_long(easy, option, value), what)
        }
        func set(_ option: CURLoption, _ value: String, _ what: String) throws {
            // curl copies string options (all but POSTFIELDS) before returning.
            try check(latchkey_easy_setopt_string(easy, option, value), what)
        }

        try set(CURLOPT_URL, request.url, "URL")
        try set(CURLOPT_NOSIGNAL, 1, "NOSIGNAL")
        try set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1, "SUPPRESS_CONNECT_HEADERS")
        try set(CURLOPT_PROTOCOLS_STR, "http,https", "PROTOCOLS_STR")
        try set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https", "REDIR_PROTOCOLS_STR")
        // Redirects are followed, if at all, by CurlHTTPClient, which applies the URL policy
        // and the same-origin rule to each hop.
        try set(CURLOPT_FOLLOWLOCATION, 0, "FOLLOWLOCATION")
        try set(CURLOPT_SSL_VERIFYPEER, 1, "SSL_VERIFYPEER")
        try set(CURLOPT_SSL_VERIFYHOST, 2, "SSL_VERIFYHOST")
        try set(CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeout.curlMilliseconds, "CONNECTTIMEOUT_MS")
        try set(CURLOPT_TIMEOUT_MS, request.totalTimeout.curlMilliseconds, "TIMEOUT_MS")
        if maxBodyBytes > 0, request.method.uppercased() != "HEAD" {
            // Refuses up front when Content-Length is known; the write callback covers the rest.
            // Not for HEAD, whose Content-Length describes a body that is never sent.
            try check(latchkey_easy_setopt_off_t(easy, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(maxBodyBytes)), "MAXFILESIZE_LARGE")
        }
        if OutboundURLPolicy.isLoopback(target.host) {
            // Never send a loopback request through a proxy from the environment.
            try set(CURLOPT_NOPROXY, "*", "NOPROXY")
        }
        try check(latchkey_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer)), "ERRORBUFFER")

        let context = Unmanaged.passUnretained(self).toOpaque()
        try check(
            latchkey_easy_setopt_callback(easy, CURLOPT_WRITEFUNCTION) { data, size, count, context in
                guard let context else { return 0 }
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
                return transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
            },
            "WRITEFUNCTION"
        )
        try check(latchkey_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, context), "WRITEDATA")
        try check(
            latchkey_easy_setopt_callback(easy, CURLOPT_HEADERFUNCTION) { data, size, count, context in
                guard let context else { return 0 }
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
                return transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: size * count))
            },
            "HEADERFUNCTION"
        )
        try check(latchkey_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, context), "HEADERDATA")

        // Method and body.
        let method = request.method
        let methodUpper = method.uppercased()
        var body = request.body
        if body == nil, ["POST", "PUT", "PATCH"].contains(methodUpper) {
            body = []  // so that curl sends Content-Length: 0
        }
        if methodUpper == "HEAD" {
            try set(CURLOPT_NOBODY, 1, "NOBODY")
            body = nil
        } else if let upload {
            try set(CURLOPT_POST, 1, "POST")
            try check(latchkey_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(upload.length ?? -1)), "POSTFIELDSIZE_LARGE")
            try check(
                latchkey_easy_setopt_callback(easy, CURLOPT_READFUNCTION) { data, size, count, context in
                    guard let context, let data else { return latchkey_readfunc_abort }
                    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
                    switch transfer.upload?.read(into: UnsafeMutableRawBufferPointer(start: data, count: size * count)) {
                    case .bytes(let n): return n
                    case .pause: return latchkey_readfunc_pause
                    case .abort, nil: return latchkey_readfunc_abort
                    }
                },
                "READFUNCTION"
            )
            try check(latchkey_easy_setopt_pointer(easy, CURLOPT_READDATA, context), "READDATA")
            if method != "POST" {
                try set(CURLOPT_CUSTOMREQUEST, method, "CUSTOMREQUEST")
            }
            body = []  // for the Content-Type default below
        } else if let body {
            try check(latchkey_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)), "POSTFIELDSIZE_LARGE")
            // COPYPOSTFIELDS copies POSTFIELDSIZE bytes now, so the Swift array need not outlive the call.
            // An empty array may have no base address; hand curl a valid pointer anyway.
            let bytes = body.isEmpty ? [0] : body
            try bytes.withUnsafeBytes { buffer in
                try check(
                    latchkey_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress)),
                    "COPYPOSTFIELDS"
                )
            }
            if method != "POST" {
                try set(CURLOPT_CUSTOMREQUEST, method, "CUSTOMREQUEST")
            }
        } else if method == "GET" {
            try set(CURLOPT_HTTPGET, 1, "HTTPGET")
        } else {
            try set(CURLOPT_CUSTOMREQUEST, method, "CUSTOMREQUEST")
        }

        // Headers. "Name:" removes a header curl would add; "Name;" sends an empty value.
        var lines = request.headers.map { $0.value.isEmpty ? "\($0.name);" : "\($0.name): \($0.value)" }
        let given = Set(request.headers.map { $0.name.lowercased() })
        if !given.contains("expect") {
            lines.append("Expect:")  // no 100-continue round trip
        }
        if body != nil, !given.contains("content-type") {
            lines.append("Content-Type:")  // not curl's default application/x-www-form-urlencoded
        }
        for line in lines {
            guard let appended = curl_slist_append(headerList, line) else {
                throw OutboundError(code: .transport, message: "curl_slist_append failed")
            }
            headerList = appended
        }
        try check(latchkey_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList), "HTTPHEADER")
    }
}

extension Duration {
    /// Whole milliseconds for a curl timeout option, at least 1: curl reads 0 as "no timeout".
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 1 }
        let (milliseconds, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        let total = overflow ? Int64(Int32.max) : milliseconds + attoseconds / 1_000_000_000_000_000
        return Int(max(1, min(total, Int64(Int32.max))))
    }
}

extension StringProtocol {
    func trimmingHTTPWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }

    func trimmingTrailingNewlines() -> String {
        var slice = Substring(self)
        while let last = slice.last, last.isNewline { slice = slice.dropLast() }
        return String(slice)
    }
}
