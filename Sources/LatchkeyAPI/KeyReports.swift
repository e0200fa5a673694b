import Foundation

/// `GET /v1/admin/keys`: the master keys in force and how many data keys each version wraps. Never key material.
public struct KeyStatus: Codable, Sendable, Equatable {
    public var currentVersion: Int
    public var loadedVersions: [Int]
    /// Data keys per master-key version, keyed by the version as a string (JSON object keys are strings).
    public var versionsInUse: [String: Int]
    public var dataKeys: Int
    /// Data keys not yet at the current version.
    public var remaining: Int
    /// `file` or `environment`.
    public var source: String
    /// The running replicas sharing the database (this one included) and the keys each holds.
    public var replicas: [ReplicaKeys]

    /// One replica's master keys, by public fingerprint (never key material).
    public struct ReplicaKeys: Codable, Sendable, Equatable {
        public var id: String
        public var address: String
        public var seenAt: Date
        /// Fingerprints by version, keyed by the version as a string.
        public var loadedVersions: [String: String]
        public var wrappingVersion: Int

        public init(id: String, address: String, seenAt: Date, loadedVersions: [String: String], wrappingVersion: Int) {
            self.id = id
            self.address = address
            self.seenAt = seenAt
            self.loadedVersions = loadedVersions
            self.wrappingVersion = wrappingVersion
        }

        enum CodingKeys: String, CodingKey {
            case id, address, seenAt = "seen_at", loadedVersions = "loaded_versions", wrappingVersion = "wrapping_version"
        }
    }

    public init(
        currentVersion: Int, loadedVersions: [Int], versionsInUse: [String: Int], dataKeys: Int, remaining: Int, source: String,
        replicas: [ReplicaKeys]
    ) {
        self.currentVersion = currentVersion
        self.loadedVersions = loadedVersions
        self.versionsInUse = versionsInUse
        self.dataKeys = dataKeys
        self.remaining = remaining
        self.source = source
        self.replicas = replicas
    }

    enum CodingKeys: String, CodingKey {
        case currentVersion = "current_version", loadedVersions = "loaded_versions", versionsInUse = "versions_in_use"
        case dataKeys = "data_keys", remaining, source, replicas
    }
}

/// `POST /v1/admin/keys/rotate`: what one call of a rotation did, and where the rotation stands.
public struct RotationReport: Codable, Sendable, Equatable {
    public var currentVersion: Int
    /// The version this call made, when it made one.
    public var createdVersion: Int?
    public var rewrapped: Int
    public var remaining: Int
    public var versionsInUse: [String: Int]
    public var loadedVersions: [Int]
    /// The versions this call retired.
    public var retired: [Int]
    public var source: String
    public var replicas: [KeyStatus.ReplicaKeys]
    /// What the operator must still do (for keys in the environment), when anything.
    public var note: String?

    public init(status: KeyStatus, createdVersion: Int?, rewrapped: Int, retired: [Int], note: String?) {
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
public struct IntegrityReport: Codable, Sendable, Equatable {
    /// A credential that did not open.
    public struct Failure: Codable, Sendable, Equatable {
        public var connection: String
        public var code: String
        public var message: String

        public init(connection: String, code: String, message: String) {
            self.connection = connection
            self.code = code
            self.message = message
        }
    }

    public var checked = 0
    public var ok = 0
    /// The connections whose credential did not open (at most a thousand); `checked - ok` counts all.
    public var failed: [Failure] = []

    public init() {}
}
