import Foundation
import Hummingbird
import LatchkeyKeys
import LatchkeyModel

/// `/v1/admin/keys...`: master-key status, rotation and the credential integrity check. Admin key only.
struct KeyRoutes {
    let settings: ServerSettings
    let rotation: KeyRotation
    let integrity: IntegrityCheck

    /// The batch size of a rotation call when the body names none, and the largest allowed.
    static let defaultBatchSize = 500
    static let maxBatchSize = 5000

    func register(on group: RouterGroup<AdminContext>) {
        let limit = settings.maxJSONBodyBytes
        group.get("/keys") { _, _ in
            APIResponse.json(try await rotation.status())
        }
        group.post("/keys/rotate") { request, _ in
            let body = try await JSONBody.read(request, limit: limit)
            let batchSize = try Self.batchSize(body)
            var newVersion: Bool?
            switch body.object["new_version"] {
            case nil, .null?: newVersion = nil
            case .bool(let flag)?: newVersion = flag
            default: throw LatchkeyError(.invalidRequest, "new_version: must be true or false", field: "new_version")
            }
            return APIResponse.json(try await rotation.rotate(batchSize: batchSize, newVersion: newVersion))
        }
        group.post("/keys/verify") { _, _ in
            APIResponse.json(try await integrity.run())
        }
    }

    static func batchSize(_ body: JSONBody) throws(LatchkeyError) -> Int {
        switch body.object["batch_size"] {
        case nil, .null?: return defaultBatchSize
        case .number(let n)? where n.rounded() == n && n >= 1 && n <= Double(maxBatchSize): return Int(n)
        default: throw LatchkeyError(.invalidRequest, "batch_size: must be a whole number from 1 to \(maxBatchSize)", field: "batch_size")
        }
    }
}
