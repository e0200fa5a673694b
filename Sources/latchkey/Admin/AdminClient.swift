import Foundation
import LatchkeyHTTP
import LatchkeyModel

/// A client of a running server's admin API (`/v1/admin/...`) over libcurl, for `latchkey admin ...`.
///
/// Every call carries the admin key as a bearer token. The URL policy of ``CurlHTTPClient`` applies: `https`,
/// or `http` to a loopback address only, so the admin key never crosses a network in plaintext.
struct AdminClient: Sendable {
    /// The server's base URL, such as `http://127.0.0.1:8080`.
    let baseURL: String
    let adminKey: String
    let transport: any HTTPTransport
    /// The limit for one call (an integrity check of many credentials takes a while).
    var timeout: Duration = .seconds(600)

    /// A successful answer: the raw body and its parsed JSON.
    struct Answer: Sendable {
        var body: [UInt8]
        var json: JSONValue

        /// The body decoded as `T`.
        func decode<T: Decodable>(_ type: T.Type) throws(AdminClientError) -> T {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            do { return try decoder.decode(T.self, from: Data(body)) } catch {
                throw AdminClientError(.server(status: 200, code: "invalid_response"), "the server's answer is not what this CLI expects")
            }
        }
    }

    func get(_ path: String) async throws(AdminClientError) -> Answer {
        try await send("GET", path, body: nil)
    }

    /// A GET whose answer is not one JSON document (JSON lines): its `json` is null.
    func getLines(_ path: String) async throws(AdminClientError) -> Answer {
        try await send("GET", path, body: nil, expectingJSON: false)
    }

    func post(_ path: String, body: JSONValue = .object([:])) async throws(AdminClientError) -> Answer {
        try await send("POST", path, body: body)
    }

    /// Sends one call. A non-2xx answer throws, carrying the server's error code and message.
    func send(_ method: String, _ path: String, body: JSONValue?, expectingJSON: Bool = true) async throws(AdminClientError) -> Answer {
        var headers = [OutboundHeader(name: "Authorization", value: "Bearer \(adminKey)"), OutboundHeader(name: "Accept", value: "application/json")]
        if body != nil { headers.append(OutboundHeader(name: "Content-Type", value: "application/json")) }
        let base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        let request = OutboundRequest(
            method: method, url: base + path, headers: headers, body: body?.serialized(), totalTimeout: timeout,
            maxResponseBytes: 32 * 1024 * 1024)
        let response: OutboundResponse
        do {
            response = try await transport.send(request)
        } catch let error as OutboundError {
            throw AdminClientError(.unreachable, "cannot reach the Latchkey server at \(base): \(error.message)")
        } catch {
            throw AdminClientError(.unreachable, "cannot reach the Latchkey server at \(base)")
        }
        let json = JSONValue.parse(response.body)
        guard (200..<300).contains(response.status) else {
            let error = json?.value(atPath: "error")
            let code = error?.value(atPath: "code")?.stringValue ?? "http_\(response.status)"
            let message = error?.value(atPath: "message")?.stringValue ?? "the server answered \(response.status)"
            if response.status == 401 {
                throw AdminClientError(.unauthorized, "the server at \(base) refused the admin key (401 \(code)); check LATCHKEY_ADMIN_KEY or --admin-key")
            }
            throw AdminClientError(.server(status: response.status, code: code), "\(code): \(message)")
        }
        guard let json else {
            if !expectingJSON { return Answer(body: response.body, json: .null) }
            throw AdminClientError(.server(status: response.status, code: "invalid_response"), "the server's answer is not JSON")
        }
        return Answer(body: response.body, json: json)
    }
}

/// Why an admin call failed, and the CLI's exit code for it: 2 for a wrong or missing admin key, 1 otherwise.
struct AdminClientError: Error, CustomStringConvertible {
    enum Kind: Equatable {
        /// No admin key was given, or the server refused it (401).
        case unauthorized
        /// The server could not be reached.
        case unreachable
        /// The server answered with an error.
        case server(status: Int, code: String)
    }

    var kind: Kind
    /// A message for people; it never holds the admin key.
    var message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    var exitCode: Int32 { kind == .unauthorized ? 2 : 1 }
    var description: String { message }
}
