import Foundation
import LatchkeyHTTP

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
