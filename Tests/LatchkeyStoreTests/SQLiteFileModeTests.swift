import Foundation
import LatchkeyModel
import LatchkeyStoreSQLite
import Testing

/// The embedded database holds sealed credentials and the audit trail: its files are the owner's alone (0600),
/// whatever the process's umask, and a database created readable by others is tightened when opened.
@Suite struct SQLiteFileModeTests {
    static func mode(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    static func directory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latchkey-modes-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func theDatabaseAndItsWALAndSharedMemoryFilesAreCreated0600() async throws {
        let path = try Self.directory() + "/latchkey.db"
        let store = try SQLiteStore(path: path)
        try await store.createOwner(try OwnerRef(parsing: "org:acme"), at: Date())
        for file in [path, path + "-wal", path + "-shm"] {
            #expect(FileManager.default.fileExists(atPath: file), "\(file)")
            #expect(try Self.mode(file) == 0o600, "\(file)")
        }
    }

    @Test func aDatabaseLeftReadableByOthersIsTightenedWhenOpened() async throws {
        let path = try Self.directory() + "/latchkey.db"
        _ = try SQLiteStore(path: path)
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        }
        let store = try SQLiteStore(path: path)
        try await store.createOwner(try OwnerRef(parsing: "org:acme"), at: Date())
        for file in [path, path + "-wal", path + "-shm"] {
            #expect(try Self.mode(file) == 0o600, "\(file)")
        }
    }
}
