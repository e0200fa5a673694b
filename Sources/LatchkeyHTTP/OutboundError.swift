/// Why an outbound request failed.
///
/// `message` names the method, scheme, host and port at most: it never holds the path,
/// query string, headers or body, which may carry secrets.
public struct OutboundError: Error, Sendable, CustomStringConvertible {
    /// A stable, snake_case reason, usable as a metrics label.
    public enum Code: String, Sendable {
        /// The URL does not parse, or has no host.
        case invalidURL = "invalid_url"
        /// The URL is not `https`, or is `http` to a non-loopback host. Raised before any I/O.
        case insecureURL = "insecure_url"
        /// The host did not resolve, or refused the connection.
        case connectFailed = "connect_failed"
        /// Every address the host resolved to is one the request's address policy refuses (private, link-local,
        /// a metadata service). Raised before a socket is opened.
        case refusedAddress = "refused_address"
        /// The connect or total timeout passed.
        case timeout
        /// The response body (or its headers) exceeded the request's limit.
        case responseTooLarge = "response_too_large"
        /// The TLS handshake or certificate verification failed.
        case tlsFailed = "tls_failed"
        /// The client was shut down, or the transfer was cancelled.
        case cancelled
        /// Anything else: the peer dropped the connection, sent garbage, or the request was malformed.
        case transport
    }

    public var code: Code
    public var message: String
    /// The libcurl `CURLcode`, when curl reported the failure.
    public var curlCode: Int?

    public init(code: Code, message: String, curlCode: Int? = nil) {
        self.code = code
        self.message = message
        self.curlCode = curlCode
    }

    public var description: String {
        if let curlCode {
            return "\(code.rawValue): \(message) (curl \(curlCode))"
        }
        return "\(code.rawValue): \(message)"
    }
}

extension OutboundError.Code {
    /// The code for a failed `CURLcode`.
    ///
    /// 3 is a URL curl could not parse; 6/7 are resolve and connect failures; 28 is
    /// `CURLE_OPERATION_TIMEDOUT`; the TLS group is handshake (35), peer verification (51 in
    /// older curl, 60), local certificate (58), CA bundle (77), issuer (83), pinned key (90) and
    /// certificate status (91); 23 (`CURLE_WRITE_ERROR`) is our write or header callback refusing
    /// more bytes and 63 (`CURLE_FILESIZE_EXCEEDED`) is `CURLOPT_MAXFILESIZE_LARGE`.
    init(curlCode: Int) {
        switch curlCode {
        case 3: self = .invalidURL
        case 6, 7: self = .connectFailed
        case 28: self = .timeout
        case 35, 51, 58, 60, 77, 83, 90, 91: self = .tlsFailed
        case 23, 63: self = .responseTooLarge
        default: self = .transport
        }
    }
}
