import Foundation
import LatchkeyAPI
import LatchkeyModel
import LatchkeyStore

extension NarrowedKeyRecord {
    /// The key as the admin API lists it at `now`: ids are the first 12 hex characters of the hashes.
    public func view(at now: Date) throws -> NarrowedKeyView {
        var grants: [GrantView] = []
        for row in self.grants { grants.append(try Grant(stored: row).view(at: now)) }
        return NarrowedKeyView(
            id: "key_" + keyHash.prefix(12), parent: "key_" + parentHash.prefix(12), depth: depth, createdAt: createdAt, expiresAt: expiresAt,
            expired: expiresAt <= now, grants: grants)
    }
}
