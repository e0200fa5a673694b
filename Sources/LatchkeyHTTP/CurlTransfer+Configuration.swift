import CCurl
import Synchronization

/// Setting a transfer up: every curl option, from the request and its parsed URL.
extension CurlTransfer {
    // MARK: - Configuration (caller's thread, before submission)

    /// What the write and header callbacks share: the transfer their context points to takes the bytes curl gives.
    /// A C callback captures nothing, so the receiver is passed as an unapplied method.
    private static func deliver(
        _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?,
        to receive: (CurlTransfer) -> (UnsafeRawBufferPointer) -> Int
    ) -> Int {
        guard let context else { return 0 }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
        return receive(transfer)(UnsafeRawBufferPointer(start: data, count: size * count))
    }

    func configure(_ easy: UnsafeMutableRawPointer, _ request: OutboundRequest, _ target: ParsedURL, caBundle: [UInt8]?) throws {
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
        if let caBundle {
            try check(caBundle.withUnsafeBytes { latchkey_easy_setopt_blob(easy, CURLOPT_CAINFO_BLOB, $0.baseAddress, $0.count) }, "CAINFO_BLOB")
        }
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
        // A data callback and its context (this transfer), under the two options' names.
        func set(_ function: CURLoption, _ data: CURLoption, _ callback: latchkey_curl_data_callback, _ what: String) throws {
            try check(latchkey_easy_setopt_callback(easy, function, callback), what + "FUNCTION")
            try check(latchkey_easy_setopt_pointer(easy, data, context), what + "DATA")
        }
        try set(CURLOPT_WRITEFUNCTION, CURLOPT_WRITEDATA, { CurlTransfer.deliver($0, $1, $2, $3, to: CurlTransfer.receiveBody) }, "WRITE")
        try set(CURLOPT_HEADERFUNCTION, CURLOPT_HEADERDATA, { CurlTransfer.deliver($0, $1, $2, $3, to: CurlTransfer.receiveHeaderLine) }, "HEADER")
        if addressPolicy != .any {
            // Each address the host resolved to is checked before its socket is opened.
            try check(latchkey_easy_setopt_opensocket(easy) { context, _, address in
                guard let context, let address else { return latchkey_socket_bad }
                return Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue().openSocket(address)
            }, "OPENSOCKETFUNCTION")
            try check(latchkey_easy_setopt_pointer(easy, CURLOPT_OPENSOCKETDATA, context), "OPENSOCKETDATA")
            // A connection another request opened (perhaps to an address this one may not reach) is never reused.
            try set(CURLOPT_FRESH_CONNECT, 1, "FRESH_CONNECT")
        }

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
            try set(CURLOPT_READFUNCTION, CURLOPT_READDATA, { data, size, count, context in
                guard let context, let data else { return latchkey_readfunc_abort }
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
                switch transfer.upload?.read(into: UnsafeMutableRawBufferPointer(start: data, count: size * count)) {
                case .bytes(let n): return n
                case .pause: return latchkey_readfunc_pause
                case .abort, nil: return latchkey_readfunc_abort
                }
            }, "READ")
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
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace), with no Foundation character sets.
    public func trimmingHTTPWhitespace() -> String {
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

extension CurlTransfer {
    /// Opens the socket for `address` when the address policy admits it; otherwise records it and refuses.
    func openSocket(_ address: UnsafeMutablePointer<curl_sockaddr>) -> curl_socket_t {
        var bytes = [UInt8](repeating: 0, count: 16)
        let count = Int(latchkey_sockaddr_bytes(address, &bytes))
        let found = Array(bytes.prefix(count))
        guard count > 0, addressPolicy.admits(found) else {
            refusedAddress = count > 0 ? AddressRange.text(of: found) : "an address of another family"
            return latchkey_socket_bad
        }
        return latchkey_open_socket(address)
    }
}
