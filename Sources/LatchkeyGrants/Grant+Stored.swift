import Foundation
import LatchkeyModel
import LatchkeyStore

extension Grant {
    /// The grant as the store keeps it: names and methods sorted, patterns as written.
    public var stored: StoredGrant {
        switch capability {
        case .tools(let provider, let names):
            StoredGrant(provider: provider, tools: names.sorted(), connection: connection, expiresAt: expiresAt, approval: approval.rawValue)
        case .proxy(let provider, let methods, let paths):
            StoredGrant(
                provider: provider, methods: methods.sorted(), paths: paths.map(\.description), connection: connection,
                expiresAt: expiresAt, approval: approval.rawValue)
        }
    }

    /// Reads a stored grant back. A row no version of Latchkey writes (both tools and rules, a bad pattern, an
    /// unknown approval) is an `internal` error for that row, never a wider grant.
    public init(stored: StoredGrant) throws(LatchkeyError) {
        func unreadable(_ why: String) -> LatchkeyError { LatchkeyError(.internalError, "a stored grant of \(stored.provider) \(why)") }
        guard let approval = Approval(rawValue: stored.approval) else { throw unreadable("has an unknown approval") }
        let capability: Capability
        switch (stored.tools.isEmpty, stored.methods.isEmpty || stored.paths.isEmpty) {
        case (false, true) where stored.methods.isEmpty && stored.paths.isEmpty:
            capability = .tools(provider: stored.provider, names: Set(stored.tools))
        case (true, false):
            var paths: [PathPattern] = []
            for raw in stored.paths {
                do { paths.append(try PathPattern(parsing: raw)) } catch { throw unreadable("holds a malformed path pattern") }
            }
            capability = .proxy(provider: stored.provider, methods: Set(stored.methods), paths: paths)
        default:
            throw unreadable("holds neither tools alone nor methods with paths")
        }
        self.init(capability: capability, connection: stored.connection, expiresAt: stored.expiresAt, approval: approval)
    }
}
