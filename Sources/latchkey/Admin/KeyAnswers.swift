/// `GET /v1/admin/keys`, as the CLI reads it.
struct KeyStatusAnswer: Decodable {
    var currentVersion: Int
    var loadedVersions: [Int]
    var versionsInUse: [String: Int]
    var dataKeys: Int
    var remaining: Int
    var source: String
    var replicas: [Replica]?

    /// A running replica and the master-key versions it holds, by fingerprint.
    struct Replica: Decodable {
        var address: String
        var loadedVersions: [String: String]
        var wrappingVersion: Int

        enum CodingKeys: String, CodingKey {
            case address, loadedVersions = "loaded_versions", wrappingVersion = "wrapping_version"
        }
    }

    enum CodingKeys: String, CodingKey {
        case currentVersion = "current_version", loadedVersions = "loaded_versions", versionsInUse = "versions_in_use"
        case dataKeys = "data_keys", remaining, source, replicas
    }
}

/// `POST /v1/admin/keys/rotate`, as the CLI reads it.
struct RotationAnswer: Decodable {
    var currentVersion: Int
    var createdVersion: Int?
    var rewrapped: Int
    var remaining: Int
    var versionsInUse: [String: Int]
    var retired: [Int]
    var note: String?

    enum CodingKeys: String, CodingKey {
        case currentVersion = "current_version", createdVersion = "created_version", rewrapped, remaining
        case versionsInUse = "versions_in_use", retired, note
    }
}

/// `POST /v1/admin/keys/verify`, as the CLI reads it.
struct IntegrityAnswer: Decodable {
    struct Failure: Decodable {
        var connection: String
        var code: String
        var message: String
    }

    var checked: Int
    var ok: Int
    var failed: [Failure]
}

/// A whole rotation, summed over its calls: what `latchkey admin keys rotate` reports at the end.
struct RotationSummary: Encodable {
    var currentVersion: Int
    var createdVersion: Int?
    /// The data keys this run re-wrapped.
    var rewrapped: Int
    /// The data keys that were behind the current version when this run began.
    var total: Int
    var remaining: Int
    var versionsInUse: [String: Int]
    var retired: [Int]
    var calls = 1
    var note: String?

    init(first: RotationAnswer) {
        currentVersion = first.currentVersion
        createdVersion = first.createdVersion
        rewrapped = first.rewrapped
        total = first.rewrapped + first.remaining
        remaining = first.remaining
        versionsInUse = first.versionsInUse
        retired = first.retired
        note = first.note
    }

    mutating func add(_ step: RotationAnswer) {
        currentVersion = step.currentVersion
        rewrapped += step.rewrapped
        remaining = step.remaining
        versionsInUse = step.versionsInUse
        retired += step.retired
        calls += 1
        note = step.note ?? note
    }

    var text: String {
        var lines = [
            createdVersion.map { "made master-key version \($0)" } ?? "carried on the rotation to master-key version \(currentVersion)",
            "re-wrapped \(rewrapped) data key(s) in \(calls) call(s); \(remaining) remain",
        ]
        if !retired.isEmpty { lines.append("retired version(s) \(retired.map(String.init).joined(separator: ", "))") }
        if let note { lines.append("note: \(note)") }
        return lines.joined(separator: "\n")
    }

    enum CodingKeys: String, CodingKey {
        case currentVersion = "current_version", createdVersion = "created_version", rewrapped, total, remaining
        case versionsInUse = "versions_in_use", retired, calls, note
    }
}
