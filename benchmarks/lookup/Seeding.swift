import Foundation
import LatchkeyModel
import LatchkeyStore

/// A store the benchmark can seed: the server's storage, plus the one-transaction batch insert both engines have.
protocol SeedableStore: LatchkeyStorage {
    func insert(_ batch: [StoredConnection]) async throws
}

/// Writes a world through the store API: `createOwner` for every owner, the vault (which creates and stores each
/// owner's data key on first use) to seal every credential, and batch inserts of the connections.
struct Seeder {
    let store: any SeedableStore
    let vault: CredentialVault
    /// Orgs seeded at once; each task writes whole orgs.
    let concurrency: Int
    let orgsPerBatch = 24

    func seed(_ world: World, progress: (Int) -> Void) async throws {
        let batches = stride(from: 0, to: world.orgs, by: orgsPerBatch).map { $0..<min($0 + orgsPerBatch, world.orgs) }
        try await withThrowingTaskGroup(of: Int.self) { group in
            var next = batches.makeIterator()
            var done = 0
            func addNext() {
                guard let orgs = next.next() else { return }
                group.addTask { try await seed(world, orgs: orgs) }
            }
            for _ in 0..<concurrency { addNext() }
            while let written = try await group.next() {
                done += written
                progress(done)
                addNext()
            }
        }
    }

    private func seed(_ world: World, orgs: Range<Int>) async throws -> Int {
        var batch: [StoredConnection] = []
        for i in orgs {
            for owner in world.owners(org: i) { try await store.createOwner(owner, at: world.start) }
            for (connection, credential) in world.connections(org: i) {
                batch.append(StoredConnection(connection: connection, sealedCredential: try await vault.sealCredential(credential, for: connection)))
            }
        }
        try await store.insert(batch)
        return batch.count
    }
}
