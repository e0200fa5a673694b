import Foundation
import LatchkeyStore
import LatchkeyStoreSQLite
import Testing

/// A store that can also list its applied migrations (each engine keeps its own migration table).
protocol MigratedStorage: LatchkeyStorage {
    /// The applied migration identifiers, oldest first.
    func appliedMigrations() async throws -> [String]
}

extension SQLiteStore: MigratedStorage {}

/// The engines the store contract runs against. Each test takes one as its argument and makes a fresh store.
enum StoreEngine: String, Sendable, CustomTestStringConvertible {
    case sqlite

    static var available: [StoreEngine] { [.sqlite] }

    var testDescription: String { rawValue }

    /// A fresh, empty, migrated store that no other test sees.
    func makeStore() async throws -> any MigratedStorage {
        switch self {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latchkey-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            return try SQLiteStore(path: dir.appendingPathComponent("test.db").path)
        }
    }
}
