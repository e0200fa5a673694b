import Foundation
import LatchkeyModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The master key file (default `.latchkey/master.key`, mode 0600): one key per line as `VERSION:BASE64`.
///
/// A line of base64 alone is version 1 (the format before versions existed), blank lines and lines starting
/// with `#` are ignored. The highest version is current. Every change is written to a temporary file in the same
/// directory, flushed with `fsync`, renamed over the file, and the directory is flushed too, so a crash leaves
/// either the old file or the new one, never a torn one.
public struct MasterKeyFile: MasterKeySource {
    /// Where the file is. The file itself is created by the first ``append(version:material:)``.
    public let path: String
    public var kind: String { "file" }
    public var isWritable: Bool { true }

    /// The key file at `path`; nothing is read until ``load()``.
    public init(path: String) { self.path = path }

    /// Whether the file exists.
    public var exists: Bool { FileManager.default.fileExists(atPath: path) }

    public func load() throws(LatchkeyError) -> [Int: [UInt8]] {
        let keys = try Self.parse(try read(), origin: path).reduce(into: [Int: [UInt8]]()) { $0[$1.version] = $1.material }
        guard !keys.isEmpty else { throw LatchkeyError(.invalidRequest, "\(path): holds no master key", field: "master_key_file") }
        return keys
    }

    public func append(version: Int, material: [UInt8]) throws(LatchkeyError) {
        var text = exists ? try read() : ""
        guard try !Self.parse(text, origin: path).contains(where: { $0.version == version }) else {
            throw LatchkeyError(.conflict, "\(path): master key version \(version) is already there", field: "master_key_file")
        }
        if !text.isEmpty, !text.hasSuffix("\n") { text += "\n" }
        try replaceContent(text + Self.line(version: version, material: material) + "\n")
    }

    public func remove(versions: Set<Int>) throws(LatchkeyError) {
        let text = try read()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var kept: [Substring] = []
        var keysLeft = 0
        for (index, line) in lines.enumerated() {
            if let entry = try Self.entry(line, origin: path, number: index + 1) {
                if versions.contains(entry.version) { continue }
                keysLeft += 1
            }
            kept.append(line)
        }
        guard keysLeft > 0 else {
            throw LatchkeyError(.conflict, "\(path): removing versions \(versions.sorted()) would leave no master key", field: "master_key_file")
        }
        try replaceContent(kept.joined(separator: "\n"))
    }

    /// One line of the file.
    public static func line(version: Int, material: [UInt8]) -> String {
        "\(version):\(Data(material).base64EncodedString())"
    }

    /// The keys of a file's text, in file order. Errors name the place and line, never the material.
    public static func parse(_ text: String, origin: String) throws(LatchkeyError) -> [(version: Int, material: [UInt8])] {
        var entries: [(version: Int, material: [UInt8])] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard let entry = try entry(line, origin: origin, number: index + 1) else { continue }
            guard !entries.contains(where: { $0.version == entry.version }) else {
                throw LatchkeyError(.invalidRequest, "\(origin):\(index + 1): master key version \(entry.version) appears twice", field: "master_key_file")
            }
            entries.append(entry)
        }
        return entries
    }

    /// A line's key, or nil for a blank or comment line.
    static func entry(_ raw: Substring, origin: String, number: Int) throws(LatchkeyError) -> (version: Int, material: [UInt8])? {
        let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if line.isEmpty || line.hasPrefix("#") { return nil }
        var version = 1
        var encoded = Substring(line)
        if let colon = line.firstIndex(of: ":") {
            guard let v = Int(line[..<colon]), v >= 1 else {
                throw LatchkeyError(
                    .invalidRequest, "\(origin):\(number): expected VERSION:BASE64 with a positive whole VERSION", field: "master_key_file")
            }
            version = v
            encoded = line[line.index(after: colon)...]
        }
        guard let material = Base64URL.decode(String(encoded)), material.count == 32 else {
            throw LatchkeyError(.invalidRequest, "\(origin):\(number): the key must be base64 of exactly 32 bytes", field: "master_key_file")
        }
        return (version, material)
    }

    private func read() throws(LatchkeyError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LatchkeyError(.internalError, "\(path): cannot be read", field: "master_key_file")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Replaces the file's content durably: temporary file (0600), fsync, rename, fsync of the directory.
    private func replaceContent(_ content: String) throws(LatchkeyError) {
        let directory = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        let temporary = "\(path).tmp-\(RandomToken.base32(bytes: 8))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("cannot create \(temporary)") }
        let bytes = Array(content.utf8)
        var written = 0
        var ok = fchmod(fd, 0o600) == 0
        while ok, written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            ok = n > 0
            written += max(n, 0)
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw failure("cannot write \(path)")
        }
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    private func failure(_ what: String) -> LatchkeyError {
        LatchkeyError(.internalError, "\(what): \(String(cString: strerror(errno)))", field: "master_key_file")
    }
}
