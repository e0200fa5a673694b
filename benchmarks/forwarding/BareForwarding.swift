import HTTPTypes
import Hummingbird
import LatchkeyHTTP
import NIOCore

/// The route of a bare forwarder with none of Latchkey's logic: `GET /v1/proxy/bench/PATH` is sent to
/// `UPSTREAM/PATH` with a static `Authorization` header, and the answer comes back as Latchkey's proxy route sends it:
/// whole when it arrived whole with its head, else streamed. Row (d) of `benchmarks/proxy/run.sh` serves it over the
/// network; `benchmarks/overhead` calls it in process.
public enum BareForwarding {
    public static let prefix = "/v1/proxy/bench"

    public static func register<Context: RequestContext>(on router: Router<Context>, transport: any HTTPTransport, upstream: String) {
        router.get("\(prefix)/**") { request, _ -> Response in
            let path = String(request.uri.path.dropFirst(prefix.count))
            let url = upstream + path + (request.uri.query.map { "?\($0)" } ?? "")
            let response = try await transport.stream(
                OutboundRequest(url: url, headers: [OutboundHeader(name: "Authorization", value: "Bearer static-benchmark-token")]),
                upload: nil)
            var fields = HTTPFields()
            for header in response.headers where header.name.lowercased() == "content-type" {
                fields[.contentType] = header.value
            }
            let status = HTTPResponse.Status(code: response.status)
            if let whole = response.body.arrivedWhole(upTo: OutboundBodyStream.highWaterBytes) {
                return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: whole)))
            }
            return Response(
                status: status, headers: fields,
                body: ResponseBody(contentLength: response.header("Content-Length").flatMap { Int($0) }) { writer in
                    for try await chunk in response.body { try await writer.write(ByteBuffer(bytes: chunk)) }
                    try await writer.finish(nil)
                })
        }
    }
}
