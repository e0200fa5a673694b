import LatchkeyModel
import Synchronization

/// The keyring in force in a running server, replaceable at runtime: rotation adds a version, retirement
/// drops one. Readers take a snapshot (a ``MasterKeyring`` value) and use it without holding any lock.
///
/// Whoever builds a vault passes it the holder explicitly; there is no global keyring.
public final class MasterKeyringHolder: Sendable {
    private let ring: Mutex<MasterKeyring>

    /// Holds `keyring` until the first ``update(_:)``.
    public init(_ keyring: MasterKeyring) {
        ring = Mutex(keyring)
    }

    /// The keyring in force now.
    public var current: MasterKeyring { ring.withLock { $0 } }

    /// Replaces the keyring with what `change` builds from the one in force, atomically; returns the new one.
    /// When `change` throws, nothing changes.
    @discardableResult
    public func update(_ change: (MasterKeyring) throws(LatchkeyError) -> MasterKeyring) throws(LatchkeyError) -> MasterKeyring {
        try ring.withLock { (ring: inout MasterKeyring) throws(LatchkeyError) -> MasterKeyring in
            ring = try change(ring)
            return ring
        }
    }
}
