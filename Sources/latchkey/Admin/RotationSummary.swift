import LatchkeyAPI

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

    init(first: RotationReport) {
        currentVersion = first.currentVersion
        createdVersion = first.createdVersion
        rewrapped = first.rewrapped
        total = first.rewrapped + first.remaining
        remaining = first.remaining
        versionsInUse = first.versionsInUse
        retired = first.retired
        note = first.note
    }

    mutating func add(_ step: RotationReport) {
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
