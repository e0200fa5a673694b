/// One header line of an outbound request or a response, kept in wire order.
///
/// Names compare case-insensitively where this module looks them up
/// (``OutboundResponse/header(_:)``); the value is sent as given.
public struct OutboundHeader: Sendable, Equatable {
    /// The field name, e.g. `Authorization`.
    public var name: String
    /// The field value, without surrounding whitespace.
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// `byte` with an ASCII capital letter made small; any other byte as it is.
    public static func lowercasedASCII(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// Whether `name` begins with `lowercasePrefix` (or, `wholly`, is it), the case of ASCII letters aside, as header
    /// names compare (RFC 9110 section 5.1). Nothing is lowercased: the proxy asks of every header of every call, and
    /// lowercasing made a string each time (benchmarks/README.md).
    public static func name(_ name: String, matches lowercasePrefix: [UInt8], wholly: Bool = true) -> Bool {
        lowercasePrefix.withUnsafeBufferPointer { Self.name(name, matches: $0, wholly: wholly) }
    }

    /// ``name(_:matches:wholly:)`` with the lowercase name or prefix a literal: a `StaticString` sits where the
    /// compiler put it, so asking retains nothing (a global array is retained on each use).
    public static func name(_ name: String, matches lowercasePrefix: StaticString, wholly: Bool = true) -> Bool {
        lowercasePrefix.withUTF8Buffer { Self.name(name, matches: $0, wholly: wholly) }
    }

    /// ``name(_:matches:wholly:)`` over the lowercase bytes where they lie.
    public static func name(_ name: String, matches lowercasePrefix: UnsafeBufferPointer<UInt8>, wholly: Bool = true) -> Bool {
        let count = name.utf8.count
        guard wholly ? count == lowercasePrefix.count : count >= lowercasePrefix.count else { return false }
        // Over the string's own bytes where it keeps them in one piece, as a native string does: stepping through
        // `utf8` with `zip` made this slower than lowercasing (a micro-benchmark: 1.5 against 1.1 µs per answer's headers).
        let contiguous = name.utf8.withContiguousStorageIfAvailable { bytes in
            for index in lowercasePrefix.indices where lowercasedASCII(bytes[index]) != lowercasePrefix[index] { return false }
            return true
        }
        if let contiguous { return contiguous }
        return zip(name.utf8, lowercasePrefix).allSatisfy { lowercasedASCII($0) == $1 }
    }

    /// Whether `name` and `other` are the same header name, the case of ASCII letters aside, without lowercasing
    /// either.
    public static func name(_ name: String, sameAs other: String) -> Bool {
        guard name.utf8.count == other.utf8.count else { return false }
        return zip(name.utf8, other.utf8).allSatisfy { lowercasedASCII($0) == lowercasedASCII($1) }
    }
}

/// A request to send to a provider or another outbound peer.
///
/// The URL must pass ``OutboundURLPolicy/check(_:)``: `https`, or `http` to a loopback host.
/// Header names and values may not contain CR, LF or NUL (no header injection).
public struct OutboundRequest: Sendable {
    /// The method token: `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`, or any other RFC 9110 token.
    public var method: String
    /// The absolute URL.
    public var url: String
    /// Headers to send, in order. curl adds `Host`, `Accept: */*` and `Content-Length` itself
    /// unless they are given here.
    public var headers: [OutboundHeader]
    /// The body. `POST`, `PUT` and `PATCH` without a body send `Content-Length: 0`;
    /// a body on `HEAD` is ignored.
    public var body: [UInt8]?
    /// The limit for establishing the connection (TCP and TLS). Default 5 s.
    public var connectTimeout: Duration
    /// The limit for the whole transfer, including the connect phase and any
    /// wait for a free connection. Default 30 s.
    public var totalTimeout: Duration
    /// The most body bytes accepted; more aborts the transfer with `.responseTooLarge`. Default 5 MiB.
    public var maxResponseBytes: Int
    /// Whether to follow redirects. Default `false`. When `true`, at most 5 hops are followed,
    /// and only to the same scheme, host and port; a redirect elsewhere is returned as is.
    public var followRedirects: Bool
    /// Which addresses the host may resolve to; `.any` unless the URL came from a third party's metadata.
    public var addressPolicy: OutboundAddressPolicy
    /// `url` as already checked by the caller, so that the client does not parse it again; ignored unless it was made
    /// from this very `url`.
    public var checkedURL: CheckedURL?

    public init(
        method: String = "GET",
        url: String,
        headers: [OutboundHeader] = [],
        body: [UInt8]? = nil,
        connectTimeout: Duration = .seconds(5),
        totalTimeout: Duration = .seconds(30),
        maxResponseBytes: Int = 5 * 1024 * 1024,
        followRedirects: Bool = false,
        addressPolicy: OutboundAddressPolicy = .any
    ) {
        self.addressPolicy = addressPolicy
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.maxResponseBytes = maxResponseBytes
        self.followRedirects = followRedirects
    }
}

/// The final response to an ``OutboundRequest``.
public struct OutboundResponse: Sendable {
    /// The status code of the final response (after any redirects that were followed).
    public var status: Int
    /// The headers of the final response only: interim responses (`100 Continue`)
    /// and earlier redirect hops are dropped.
    public var headers: [OutboundHeader]
    /// The body, at most ``OutboundRequest/maxResponseBytes`` long.
    public var body: [UInt8]

    public init(status: Int, headers: [OutboundHeader] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of the last header named `name`, compared case-insensitively; `nil` when absent.
    public func header(_ name: String) -> String? {
        headers.value(named: name)
    }
}

extension [OutboundHeader] {
    /// The value of the last header named `name`, compared case-insensitively; `nil` when absent.
    public func value(named name: String) -> String? {
        let wanted = [UInt8](name.lowercased().utf8)
        return last { OutboundHeader.name($0.name, matches: wanted) }?.value
    }
}

extension OutboundRequest {
    /// Refuses a method that is not an HTTP token, a header name that is not one, and a header value holding CR, LF
    /// or NUL (no header injection), before any I/O.
    static func validate(_ request: OutboundRequest) throws {
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
}
