import Foundation
import LatchkeyAPI
import LatchkeyModel

/// An approval as the approval pages (the dashboard's and the person console's) show it.
enum ApprovalPageValues {
    static func row(_ view: ApprovalView) -> [String: Any] {
        var values: [String: Any] = [
            "id": view.id, "state": view.state, "agent": view.agent, "key": view.key, "provider": view.provider, "connection": view.connection,
            "connection_owner": view.connectionOwner, "summary": view.summary, "created_at": DashboardViews.time(view.createdAt),
            "expires_at": DashboardViews.time(view.expiresAt), "pending": view.state == "pending",
        ]
        if let call = view.call { values["call"] = pretty(call) }
        if let by = view.decidedBy { values["decided_by"] = by }
        if let at = view.decidedAt { values["decided_at"] = DashboardViews.time(at) }
        if let status = view.resultStatus { values["result_status"] = status }
        return values
    }

    /// `value` as indented JSON with sorted keys, for a `<pre>` block.
    static func pretty(_ value: JSONValue) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(value.serialized()), options: [.fragmentsAllowed]),
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        else { return String(decoding: value.serialized(), as: UTF8.self) }
        return String(decoding: data, as: UTF8.self)
    }
}
