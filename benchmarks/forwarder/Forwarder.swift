import Hummingbird
import LatchkeyBenchForwarding
import LatchkeyHTTP
import NIOCore
import NIOPosix

/// Row (d) of `benchmarks/proxy/run.sh`: a bare forwarder (``BareForwarding``) on the client Latchkey's proxy uses.
/// What (c) costs beyond (d) is Latchkey's own work.
///
///     latchkey-bench-forwarder --port 8081 --upstream http://127.0.0.1:8080 [--client event-loop|curl]
@main
struct Forwarder {
    static func main() async throws {
        var port = 8081
        var upstream = "http://127.0.0.1:8080"
        var client = "event-loop"
        var arguments = CommandLine.arguments.dropFirst()
        while let name = arguments.popFirst() {
            guard let value = arguments.popFirst() else { fatalError("\(name) needs a value") }
            switch name {
            case "--port": port = Int(value) ?? port
            case "--upstream": upstream = value
            case "--client": client = value
            default: fatalError("unknown option \(name)")
            }
        }
        // As `latchkey serve` does: Swift tasks run on NIO's event loops.
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        let transport: any HTTPTransport =
            client == "curl" ? CurlHTTPClient() : try EventLoopHTTPClient(group: MultiThreadedEventLoopGroup.singleton)

        let router = Router()
        try BareForwarding.register(on: router, transport: transport, upstream: upstream)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}
