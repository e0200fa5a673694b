import Foundation
import LatchkeyCrypto
import LatchkeyModel
import Synchronization

/// Unwrapped data keys kept in memory for a short time, so a hot connection does not read and unwrap its
/// owner's key on every call.
///
/// Entries live at most `ttl` seconds. A data key's bytes never change (key rotation re-wraps the same key);
/// only crypto-shredding removes one, and the process that shreds calls `forget`. Other replicas drop the
/// key within `ttl`, or within the change log's bound while they follow it.
public final class DataKeyCache: Sendable {
    private let entries = Mutex<[OwnerRef: (key: DataKey, until: Date)]>([:])
    let ttl: TimeInterval

    public init(ttl: TimeInterval = 60) { self.ttl = ttl }

    func key(for owner: OwnerRef, now: Date) -> DataKey? {
        entries.withLock { entries in
            guard let entry = entries[owner] else { return nil }
            if entry.until <= now {
                entries.removeValue(forKey: owner)
                return nil
            }
            return entry.key
        }
    }

    func remember(_ key: DataKey, for owner: OwnerRef, now: Date) {
        entries.withLock { $0[owner] = (key, now.addingTimeInterval(ttl)) }
    }

    /// Drops an owner's key (after crypto-shredding).
    public func forget(_ owner: OwnerRef) {
        _ = entries.withLock { $0.removeValue(forKey: owner) }
    }
}

/// Another replica shredded a data key: forget that owner's unwrapped key (every key when the log does not say whose).
extension DataKeyCache: StoreChangeSubscriber {
    public func storeChanged(_ change: StoreChange) {
        guard change.table == .dataKeys else { return }
        if let subject = change.subject, let owner = try? OwnerRef(parsing: subject) {
            forget(owner)
        } else {
            entries.withLock { $0.removeAll() }
        }
    }

    public func storeChangesMissed() { entries.withLock { $0.removeAll() } }
}
