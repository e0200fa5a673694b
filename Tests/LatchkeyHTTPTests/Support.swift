import Foundation
import LatchkeyHTTP
import NIOPosix
import Testing

/// What the server's `/echo` route saw.
struct Echo: Decodable {
    var method: String
    var target: String
    var headers: [[String]]
    var body: String

    init(_ response: OutboundResponse) throws {
        self = try JSONDecoder().decode(Echo.self, from: Data(response.body))
    }

    /// The last value of header `name`, case-insensitively.
    func header(_ name: String) -> String? {
        headers.last { $0[0].lowercased() == name.lowercased() }?[1]
    }
}

extension ContinuousClock.Instant.Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}

/// A transport that can be shut down: both clients.
protocol ClosableTransport: HTTPTransport {
    func shutdown()
}

extension CurlHTTPClient: ClosableTransport {}
extension EventLoopHTTPClient: ClosableTransport {}

/// The two outbound clients: every transport test runs on both, with the same expectations.
enum Client: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case curl
    case eventLoop

    var testDescription: String { rawValue }

    /// A new client of this kind (the event-loop one on NIO's shared group, as the server's).
    func make(maxConnectionsPerHost: Int = 32) -> any ClosableTransport {
        switch self {
        case .curl: CurlHTTPClient(maxConnectionsPerHost: maxConnectionsPerHost)
        case .eventLoop: try! EventLoopHTTPClient(group: MultiThreadedEventLoopGroup.singleton)
        }
    }

    /// A new client of this kind that also trusts `trust`'s certificate authorities.
    func make(trust: OutboundTrust) throws -> any ClosableTransport {
        switch self {
        case .curl: try CurlHTTPClient(trust: trust)
        case .eventLoop: try EventLoopHTTPClient(group: MultiThreadedEventLoopGroup.singleton, trust: trust)
        }
    }
}
