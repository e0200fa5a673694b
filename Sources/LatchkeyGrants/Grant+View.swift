import Foundation
import LatchkeyAPI
import LatchkeyModel

extension Grant {
    /// The grant as the admin API shows it at `now`.
    public func view(at now: Date) -> GrantView {
        let stored = self.stored
        let isTools = !stored.tools.isEmpty
        return GrantView(
            provider: stored.provider.rawValue, tools: isTools ? stored.tools : nil, methods: isTools ? nil : stored.methods,
            paths: isTools ? nil : stored.paths, connection: connection?.rawValue, expiresAt: expiresAt, approval: approval.rawValue,
            expired: !isLive(at: now))
    }
}
