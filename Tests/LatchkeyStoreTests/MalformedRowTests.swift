import Foundation
import GRDB
import LatchkeyModel
import LatchkeyStore
import LatchkeyStoreSQLite
import Testing

/// A row damaged outside Latchkey (edited by hand, a bad restore) fails the read of that row with a typed error; it
/// never stops the process, and the other rows stay readable.
@Suite struct MalformedRowTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A new SQLite store in a folder of its own, with the org `acme`; its file's path, for another program to damage.
    func freshStore() async throws -> (store: SQLiteStore, path: String, org: OwnerRef) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latchkey-malformed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("test.db").path
        let store = try SQLiteStore(path: path)
        let org = try OwnerRef(parsing: "org:acme")
        try await store.createOwner(org, at: now)
        return (store, path, org)
    }

    @Test(arguments: ["created_at", "updated_at", "expires_at"])
    func aConnectionWhoseTimeIsNotATimeFailsItsOwnReadOnly(_ column: String) async throws {
        let (store, path, org) = try await freshStore()
        func connection(_ provider: ProviderID) -> Connection {
            Connection(
                id: .random(), provider: provider, owner: org, state: .active, expiresAt: now.addingTimeInterval(60), isDefault: true,
                createdAt: now, updatedAt: now)
        }
        let damaged = connection("github"), intact = connection("slack")
        try await store.insert(damaged, sealedCredential: [1])
        try await store.insert(intact, sealedCredential: [2])

        // Another program writes text where a time belongs (SQLite keeps it: a column's type is only a preference).
        let outside = try DatabaseQueue(path: path)
        try await outside.write { db in
            try db.execute(sql: "UPDATE connections SET \(column) = 'yesterday' WHERE id = ?", arguments: [damaged.id.rawValue])
        }
        try outside.close()

        do {
            _ = try await store.connection(id: damaged.id)
            Issue.record("a damaged row was read as if it were whole")
        } catch let error as LatchkeyError {
            #expect(error.code == .internalError)
            #expect(error.message.contains(column))
        }
        #expect(try await store.connection(id: intact.id)?.connection == intact)
    }

    /// Audit events and data keys are read through checked columns too: a value of the wrong type is an error
    /// naming the column, never a trap (GRDB's typed subscript stops the process on one).
    @Test func anAuditEventOrDataKeyHoldingTheWrongTypeFailsItsReadInsteadOfStoppingTheProcess() async throws {
        let (store, path, org) = try await freshStore()
        try await store.append(AuditEvent(at: now, actor: .admin, action: .adminSignIn))
        _ = try await store.insertDataKeyIfAbsent(WrappedDataKeyRecord(owner: org, keyVersion: 1, ciphertext: [1, 2, 3]))
        let outside = try DatabaseQueue(path: path)
        try await outside.write { db in
            try db.execute(sql: "UPDATE audit_events SET at = 'yesterday'")
            try db.execute(sql: "UPDATE data_keys SET key_version = 'one'")
        }
        try outside.close()
        func expectDamaged(_ column: String, _ read: () async throws -> Void) async {
            do {
                try await read()
                Issue.record("a damaged \(column) was read as if it were whole")
            } catch let error as LatchkeyError {
                #expect(error.code == .internalError && error.message.contains(column), "\(error.message)")
            } catch {
                Issue.record("\(error)")
            }
        }
        await expectDamaged("at") { _ = try await store.events(AuditQuery()) }
        await expectDamaged("key_version") { _ = try await store.dataKey(for: org) }
        await expectDamaged("key_version") { _ = try await store.dataKeyCounts() }
    }
}
