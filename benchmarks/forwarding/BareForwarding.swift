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

    /// Serves the route on `router`. Throws ``OutboundError`` when `upstream` is not a URL the client may call.
    public static func register<Context: RequestContext>(on router: Router<Context>, transport: any HTTPTransport, upstream: String) throws {
        // Checked once; each call's URL is built on it, as Latchkey's proxy builds on its base URLs (`BaseURLs`).
        let base = try CheckedBaseURL(upstream)
        let contentType = Array("content-type".utf8)
        router.get("\(prefix)/**") { request, _ -> Response in
            var path = request.uri.path.dropFirst(prefix.count)
            if path.first == "/" { path = path.dropFirst() }
            let target = try base.appending(path: String(path), query: request.uri.query)
            var outbound = OutboundRequest(
                url: target.url, headers: [OutboundHeader(name: "Authorization", value: "Bearer static-benchmark-token")])
            outbound.checkedURL = target
            let response = try await transport.stream(outbound, upload: nil)
            var fields = HTTPFields()
            for header in response.headers where OutboundHeader.name(header.name, matches: contentType) {
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
