import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: KeyringStateStore {
    public func wrappingVersion() async throws -> Int? {
        locked { $0.wrappingVersion }
    }

    public func setWrappingVersion(_ version: Int, expected: Int?, at time: Date) async throws -> Bool {
        try locked { state in
            // The engines' CHECK (version >= 1) refuses any write of a lower one, and checks an insert before it finds a
            // version already set.
            guard version >= 1 || (expected != nil && state.wrappingVersion != expected) else {
                throw Self.conflict("a master-key version is 1 or more")
            }
            guard state.wrappingVersion == expected else { return false }
            state.wrappingVersion = version
            return true
        }
    }
}
