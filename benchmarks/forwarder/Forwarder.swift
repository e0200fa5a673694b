import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyHTTP
import NIOCore
import NIOPosix

/// Row (d) of `benchmarks/proxy/run.sh`: a bare forwarder with none of Latchkey's logic, on the client Latchkey's
/// proxy uses. `GET /v1/proxy/bench/PATH` is sent to `UPSTREAM/PATH` with a static `Authorization` header, and the
/// answer streams back as Latchkey's proxy route streams it. What (c) costs beyond (d) is Latchkey's own work.
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

        let base = upstream
        let router = Router()
        let prefix = "/v1/proxy/bench"
        router.get("/v1/proxy/bench/**") { request, _ -> Response in
            let path = String(request.uri.path.dropFirst(prefix.count))
            let url = base + path + (request.uri.query.map { "?\($0)" } ?? "")
            let response = try await transport.stream(
                OutboundRequest(url: url, headers: [OutboundHeader(name: "Authorization", value: "Bearer static-benchmark-token")]),
                upload: nil)
            var fields = HTTPFields()
            for header in response.headers where header.name.lowercased() == "content-type" {
                fields[.contentType] = header.value
            }
            return Response(
                status: HTTPResponse.Status(code: response.status), headers: fields,
                body: ResponseBody(contentLength: response.header("Content-Length").flatMap { Int($0) }) { writer in
                    for try await chunk in response.body { try await writer.write(ByteBuffer(bytes: chunk)) }
                    try await writer.finish(nil)
                })
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}
