import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: GrantStore {
    public func setGrants(agent: OwnerRef, tools: [String], at: Date) async throws {
        try locked { state in
            // Each grant names its agent, as the engines' foreign key does; an empty set names nobody.
            if !tools.isEmpty { try state.requireOwner(agent) }
            state.grants[agent] = tools.isEmpty ? nil : Set(tools)
        }
    }

    public func grants(agent: OwnerRef) async throws -> Set<String> {
        locked { $0.grants[agent] ?? [] }
    }
}
