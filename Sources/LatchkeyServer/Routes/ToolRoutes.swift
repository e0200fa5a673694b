import Foundation
import Hummingbird
import LatchkeyManifest
import LatchkeyModel
import LatchkeyProxy
import LatchkeyStore
import LatchkeyTokens

/// `GET /v1/tools` and `POST /v1/tools/{provider}.{tool}/call`.
///
/// Read tools are available once the integration is active; write tools also need an admin's grant.
struct ToolRoutes {
    let settings: ServerSettings
    let tools: ToolRunner

    func register(on group: RouterGroup<CallerContext>) {
        group.get("/tools") { _, context in
            let caller = context.caller
            return APIResponse.json(["tools": try await tools.available(to: caller)])
        }
        group.post("/tools/:name/call") { request, context in
            let caller = context.caller
            let body = try await JSONBody.read(request, limit: settings.maxJSONBodyBytes)
            let arguments = body.object["arguments"] ?? .object([:])
            guard case .object = arguments else {
                throw LatchkeyError(.invalidRequest, "arguments: must be an object", field: "arguments")
            }
            let outcome = try await tools.call(
                context.parameters.get("name") ?? "", arguments: arguments, connectionID: try body.optionalString("connection"),
                user: request.headers[.latchkeyUser], caller: caller)
            return APIResponse.json(outcome.json)
        }
    }
}
