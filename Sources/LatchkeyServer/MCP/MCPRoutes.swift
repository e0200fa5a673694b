import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyMCP
import LatchkeyModel
import MCP

/// `POST|GET|DELETE /mcp`: Streamable HTTP, bridged from Hummingbird to the SDK's transport. Agent keys only.
struct MCPRoutes {
    let sessions: MCPSessions

    func register(on group: RouterGroup<AgentContext>) {
        for method in [HTTPTypes.HTTPRequest.Method.post, .get, .delete] {
            group.on("", method: method) { request, context in try await handle(request, context) }
        }
    }

    func handle(_ request: Request, _ context: AgentContext) async throws -> Response {
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let body: Data?
        do {
            let buffer = try await request.body.collect(upTo: 4 * 1024 * 1024)
            body = buffer.readableBytes > 0 ? Data(buffer.readableBytesView) : nil
        } catch {
            throw LatchkeyError(.payloadTooLarge, "the MCP message exceeds 4 MiB")
        }
        let reply = await sessions.handle(
            MCP.HTTPRequest(method: request.method.rawValue, headers: headers, body: body, path: request.uri.path), caller: context.caller)
        var fields = HTTPFields()
        for (name, value) in reply.headers {
            if let n = HTTPField.Name(name) { fields[n] = value }
        }
        let status = HTTPResponse.Status(code: reply.statusCode)
        switch reply {
        case .stream(let stream, _):
            return Response(status: status, headers: fields, body: ResponseBody { writer in
                for try await chunk in stream { try await writer.write(ByteBuffer(bytes: chunk)) }
                try await writer.finish(nil)
            })
        default:
            return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.bodyData ?? Data())))
        }
    }
}
