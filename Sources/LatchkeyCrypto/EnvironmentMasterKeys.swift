import LatchkeyModel

/// Master keys given in the environment: `LATCHKEY_MASTER_KEY` (base64 of 32 bytes, version 1) and/or
/// `LATCHKEY_MASTER_KEYS` (`VERSION:BASE64` items separated by commas, such as `2:...,1:...`).
///
/// Latchkey cannot change its own environment, so this source is read-only: a new version is added by the
/// operator (in `LATCHKEY_MASTER_KEYS`, then a restart), and a retired one is dropped from memory only.
public struct EnvironmentMasterKeys: MasterKeySource {
    private let keys: [Int: [UInt8]]
    public var kind: String { "environment" }
    public var isWritable: Bool { false }

    /// Parses the two variables (either may be absent, not both). Errors name the variable, never the material.
    public init(single: String?, list: String?) throws(LatchkeyError) {
        var keys: [Int: [UInt8]] = [:]
        if let list {
            let items = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            for (index, item) in items.enumerated() where !item.isEmpty {
                guard item.contains(":") else {
                    throw LatchkeyError(
                        .invalidRequest, "LATCHKEY_MASTER_KEYS: item \(index + 1) must be VERSION:BASE64", field: "LATCHKEY_MASTER_KEYS")
                }
                guard let entry = try MasterKeyFile.entry(Substring(item), origin: "LATCHKEY_MASTER_KEYS item", number: index + 1) else {
                    continue
                }
                guard keys[entry.version] == nil else {
                    throw LatchkeyError(
                        .invalidRequest, "LATCHKEY_MASTER_KEYS: version \(entry.version) appears twice", field: "LATCHKEY_MASTER_KEYS")
                }
                keys[entry.version] = entry.material
            }
        }
        if let single {
            guard let material = Base64URL.decode(single.trimmingCharacters(in: .whitespacesAndNewlines)), material.count == 32 else {
                throw LatchkeyError(.invalidRequest, "LATCHKEY_MASTER_KEY: must be base64 of exactly 32 bytes", field: "LATCHKEY_MASTER_KEY")
            }
            if let listed = keys[1], listed != material {
                throw LatchkeyError(
                    .invalidRequest, "LATCHKEY_MASTER_KEY and version 1 of LATCHKEY_MASTER_KEYS differ; set one of them",
                    field: "LATCHKEY_MASTER_KEY")
            }
            keys[1] = material
        }
        guard !keys.isEmpty else {
            throw LatchkeyError(.invalidRequest, "LATCHKEY_MASTER_KEYS: holds no master key", field: "LATCHKEY_MASTER_KEYS")
        }
        self.keys = keys
    }

    public func load() throws(LatchkeyError) -> [Int: [UInt8]] { keys }

    public func append(version: Int, material: [UInt8]) throws(LatchkeyError) {
        throw Self.readOnly(next: version, loaded: keys.keys.sorted())
    }

    public func remove(versions: Set<Int>) throws(LatchkeyError) {
        throw LatchkeyError(
            .keySourceReadonly,
            "the master keys come from the environment; remove version(s) \(versions.sorted().map(String.init).joined(separator: ", ")) from LATCHKEY_MASTER_KEY(S) yourself")
    }

    /// The error for a new version that only the operator can add, saying how.
    public static func readOnly(next: Int, loaded: [Int]) -> LatchkeyError {
        let items = ([next] + loaded.sorted(by: >)).map { $0 == next ? "\($0):<new key>" : "\($0):<key \($0)>" }
        return LatchkeyError(
            .keySourceReadonly,
            "the master keys come from the environment (LATCHKEY_MASTER_KEY(S)), which Latchkey cannot change; add version \(next) "
                + "yourself: LATCHKEY_MASTER_KEYS=\"\(items.joined(separator: ","))\" where <new key> is base64 of 32 random bytes "
                + "(openssl rand -base64 32), restart, then call rotate again to re-wrap the data keys")
    }
}
