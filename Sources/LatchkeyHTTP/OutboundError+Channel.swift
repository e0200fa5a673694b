import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

extension OutboundError {
    /// The outbound error for a failure the event-loop client's channel reported; `describe` names method and origin.
    ///
    /// Connection refused, unreachable and unresolvable hosts are `.connectFailed`; NIO's connect timeout is
    /// `.timeout`; handshake and certificate failures are `.tlsFailed` (a peer that closes a TLS connection without
    /// `close_notify` is `.transport`: the handshake succeeded); everything else is `.transport`. The message names the
    /// kind of failure, never the path, headers or body.
    init(channelError error: any Error, describe: ExchangeLabel) {
        switch error {
        case let error as OutboundError:
            self = error
        case ChannelError.connectTimeout:
            self.init(code: .timeout, message: "\(describe): the connect timeout passed")
        case is NIOConnectionError:
            self.init(code: .connectFailed, message: "\(describe): could not resolve or connect to the host")
        case let error as IOError where [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL].contains(error.errnoCode):
            self.init(code: .connectFailed, message: "\(describe): the connection was refused")
        case NIOSSLError.uncleanShutdown:
            self.init(code: .transport, message: "\(describe): the peer closed the TLS connection without close_notify")
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError:
            self.init(code: .tlsFailed, message: "\(describe): the TLS handshake or certificate verification failed (\(error))")
        case HTTPParserError.headerOverflow:
            self.init(code: .responseTooLarge, message: "\(describe): the response's header exceeded the limit")
        case is HTTPParserError:
            self.init(code: .transport, message: "\(describe): the peer's response is not valid HTTP/1.1")
        default:
            self.init(code: .transport, message: "\(describe): \(type(of: error))")
        }
    }
}
