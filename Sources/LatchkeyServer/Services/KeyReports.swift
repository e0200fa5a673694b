import Foundation
import LatchkeyCrypto
import LatchkeyStore

/// `GET /v1/admin/keys`: the master keys in force and how many data keys each version wraps. Never key material.
struct KeyStatus: Encodable, Sendable {
    var currentVersion: Int
    var loadedVersions: [Int]
    /// Data keys per master-key version, keyed by the version as a string (JSON object keys are strings).
    var versionsInUse: [String: Int]
    var dataKeys: Int
    /// Data keys not yet at the current version.
    var remaining: Int
    /// `file` or `environment`.
    var source: String
    /// The running replicas sharing the database (this one included) and the keys each holds.
    var replicas: [ReplicaKeys]

    /// One replica's master keys, by public fingerprint (never key material).
    struct ReplicaKeys: Encodable, Sendable {
        var id: String
        var address: String
        var seenAt: Date
        /// Fingerprints by version, keyed by the version as a string.
        var loadedVersions: [String: String]
        var wrappingVersion: Int

        enum CodingKeys: String, CodingKey {
            case id, address, seenAt = "seen_at", loadedVersions = "loaded_versions", wrappingVersion = "wrapping_version"
        }
    }

    init(ring: MasterKeyring, counts: [Int: Int], source: String, replicas: [ReplicaHeartbeat]) {
        currentVersion = ring.currentVersion
        loadedVersions = ring.versions
        versionsInUse = Dictionary(uniqueKeysWithValues: counts.map { (String($0.key), $0.value) })
        dataKeys = counts.values.reduce(0, +)
        remaining = counts.filter { $0.key != ring.currentVersion }.values.reduce(0, +)
        self.source = source
        self.replicas = replicas.map {
            ReplicaKeys(
                id: $0.id, address: $0.address, seenAt: $0.seenAt,
                loadedVersions: Dictionary(uniqueKeysWithValues: $0.keyFingerprints.map { (String($0.key), $0.value) }),
                wrappingVersion: $0.wrappingVersion)
        }
    }

    enum CodingKeys: String, CodingKey {
        case currentVersion = "current_version", loadedVersions = "loaded_versions", versionsInUse = "versions_in_use"
        case dataKeys = "data_keys", remaining, source, replicas
    }
}

/// `POST /v1/admin/keys/rotate`: what one call of a rotation did, and where the rotation stands.
struct RotationReport: Encodable, Sendable {
    var currentVersion: Int
    /// The version this call made, when it made one.
    var createdVersion: Int?
    var rewrapped: Int
    var remaining: Int
    var versionsInUse: [String: Int]
    var loadedVersions: [Int]
    /// The versions this call retired.
    var retired: [Int]
    var source: String
    var replicas: [KeyStatus.ReplicaKeys]
    /// What the operator must still do (for keys in the environment), when anything.
    var note: String?

    init(status: KeyStatus, createdVersion: Int?, rewrapped: Int, retired: [Int], note: String?) {
        currentVersion = status.currentVersion
        self.createdVersion = createdVersion
        self.rewrapped = rewrapped
        remaining = status.remaining
        versionsInUse = status.versionsInUse
        loadedVersions = status.loadedVersions
        self.retired = retired
        source = status.source
        replicas = status.replicas
        self.note = note
    }

    enum CodingKeys: String, CodingKey {
        case currentVersion = "current_version", createdVersion = "created_version", rewrapped, remaining
        case versionsInUse = "versions_in_use", loadedVersions = "loaded_versions", retired, source, replicas, note
    }
}

/// `POST /v1/admin/keys/verify`: every stored credential opened once.
struct IntegrityReport: Encodable, Sendable {
    struct Failure: Encodable, Sendable {
        var connection: String
        var code: String
        var message: String
    }

    var checked = 0
    var ok = 0
    /// The connections whose credential did not open, at most ``IntegrityCheck/maxListed``; `checked - ok` counts all.
    var failed: [Failure] = []
}
