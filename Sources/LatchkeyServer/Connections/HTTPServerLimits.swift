import Foundation

/// How long the HTTP server waits on a client, and how many clients it holds at once (`http_*` settings).
///
/// As nginx does: a request's head must arrive whole within `headerTimeout` of its first byte (or of the connection
/// opening); a kept-alive connection with no request is closed after `idleTimeout`; a body that stops arriving while
/// Latchkey waits for it is dropped after `bodyTimeout` (between two reads, so a long upload that keeps flowing is
/// fine). Connections past `maxConnections` are answered `503 server_busy` and closed at once, never queued.
public struct HTTPServerLimits: Sendable, Equatable {
    public var headerTimeout: TimeInterval = 10
    public var idleTimeout: TimeInterval = 60
    public var bodyTimeout: TimeInterval = 60
    public var maxConnections = 4096

    public init() {}
}
