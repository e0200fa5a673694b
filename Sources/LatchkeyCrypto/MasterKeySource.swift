import LatchkeyModel

/// Where the master keys live, and whether Latchkey may change them.
///
/// Contract:
/// - `load` returns every version's 32-byte material; it fails, naming the place (never the material), when
///   the source is malformed.
/// - `append` and `remove` are durable: when they return, the change survives a crash of the process or the
///   machine. They fail with `key_source_readonly` on a source that is not writable.
/// - `remove` never leaves the source without a key.
public protocol MasterKeySource: Sendable {
    /// Where the keys are, for status answers and messages: `file` or `environment`. Never key material.
    var kind: String { get }
    /// Whether `append` and `remove` can change the source.
    var isWritable: Bool { get }
    /// Every version's material.
    func load() throws(LatchkeyError) -> [Int: [UInt8]]
    /// Adds `version` with `material`. Fails when the version is already there.
    func append(version: Int, material: [UInt8]) throws(LatchkeyError)
    /// Removes `versions`; versions that are not there are ignored.
    func remove(versions: Set<Int>) throws(LatchkeyError)
}
