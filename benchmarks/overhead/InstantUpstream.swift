import LatchkeyHTTP

/// An upstream that answers every request at once, in process, with the benchmark's JSON body: what is left of a
/// proxied call is the work of the route that forwards it.
struct InstantUpstream: HTTPTransport {
    static let body = Array(#"{"items":[{"id":1,"name":"alpha"},{"id":2,"name":"beta"}]}"#.utf8)
    static let headers = [
        OutboundHeader(name: "Content-Type", value: "application/json"),
        OutboundHeader(name: "Content-Length", value: "\(body.count)"),
    ]

    func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        OutboundResponse(status: 200, headers: Self.headers, body: Self.body)
    }

    func stream(_ request: OutboundRequest, upload: OutboundUpload?) async throws -> OutboundStreamingResponse {
        OutboundStreamingResponse(status: 200, headers: Self.headers, body: .complete(Self.body))
    }
}
