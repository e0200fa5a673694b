import Foundation
import Hummingbird
import LatchkeyModel
import LatchkeyObservability
import LatchkeyRemoteMCP
import LatchkeyStore

/// `GET /healthz` (the process answers), `GET /readyz` (the store answers), `GET /metrics` (Prometheus text format),
/// `GET /openapi.yaml`, and `GET /oauth/client-metadata.json` (Latchkey's client ID metadata document).
struct OperationsRoutes {
    let store: any LatchkeyStorage
    let metrics: LatchkeyMetrics
    let openAPI: String
    let clientMetadata: ClientMetadataDocument

    func register(on router: Router<LatchkeyContext>) {
        router.get("/healthz") { _, _ in APIResponse.json(JSONValue.object(["status": .string("ok")])) }
        router.get("/readyz") { _, _ in
            _ = try await store.ownerExists(try OwnerRef(parsing: "org:readiness-probe"))
            return APIResponse.json(JSONValue.object(["status": .string("ready")]))
        }
        router.get("/metrics") { _, _ in
            let counts = try await store.connectionCountsByState()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.render(connectionsByState: counts))))
        }
        router.get(RouterPath(ClientMetadataDocument.path)) { _, _ in APIResponse.json(clientMetadata) }
        router.get("/openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: openAPI)))
        }
    }
}
