import Foundation
import LatchkeyCrypto
import LatchkeyKeys
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyStoreMemory
import Logging

/// One running process, as far as master keys go: its keyring, its agreement with the other replicas, its rotation,
/// and a vault over the same keyring.
struct KeysProcess {
    let holder: MasterKeyringHolder
    let coordinator: KeyringCoordinator
    let rotation: KeyRotation
    /// Reads every data key from the store (its cache forgets at once), so each open goes through the wrapped key.
    let vault: CredentialVault
}

/// A credential sealed for one owner's connection, as the store holds it.
struct SealedCredential {
    let connection: Connection
    let credential: Credential
    let sealed: [UInt8]
}

/// What outlives a process: the store, the key file and the clock, with a credential sealed for each of several
/// owners by the first process (`process`). ``start(_:keySource:)`` starts another process on them, as a restart or
/// another replica would.
struct KeysRig {
    /// Heartbeats every 5 s, so a replica counts as running for 25 s after its last one.
    static let replicaHeartbeat: TimeInterval = 5
    static let liveness = ReplicaSettings(id: "any", address: "", heartbeatInterval: replicaHeartbeat).liveness
    static let logger = Logger(label: "latchkey.keys.test", factory: { _ in SwiftLogNoOpLogHandler() })

    let journal = Journal()
    let memory = MemoryStore()
    let store: ObservedStore
    let keySource: MemoryKeySource
    let clock = ManualClock()
    let audit: AuditTrail
    /// The process that sealed the credentials, with master key version 1.
    let process: KeysProcess
    /// One per owner, `org:o0` onwards.
    let sealed: [SealedCredential]

    /// A store with one credential for each of `owners` owners, sealed under master key version 1. The journal starts empty.
    init(owners: Int) async throws {
        store = ObservedStore(memory, journal: journal)
        keySource = MemoryKeySource([1: RandomToken.bytes(32)], journal: journal)
        audit = AuditTrail(store: memory, logger: Self.logger)
        process = try await Self.start("replica-a", store: store, keySource: keySource, clock: clock, audit: audit)
        var sealed: [SealedCredential] = []
        for n in 0..<owners {
            let owner = Self.owner(n)
            try await memory.createOwner(owner, at: clock.now)
            let connection = Connection(
                id: .random(), provider: "github", owner: owner, state: .active, isDefault: true, createdAt: clock.now, updatedAt: clock.now)
            let credential = Credential(accessToken: "access-\(n)", refreshToken: "refresh-\(n)", tokenType: "Bearer")
            let bytes = try await process.vault.sealCredential(credential, for: connection)
            try await memory.insert(connection, sealedCredential: bytes)
            sealed.append(SealedCredential(connection: connection, credential: credential, sealed: bytes))
        }
        self.sealed = sealed
        _ = journal.take()
    }

    static func owner(_ n: Int) -> OwnerRef { try! OwnerRef(parsing: "org:o\(n)") }

    /// Starts a process on this rig's store and clock as `latchkey serve` does: the keys loaded from the key source
    /// (this rig's file unless another is given), the current one agreed through the store.
    func start(_ id: String, keySource: (any MasterKeySource)? = nil) async throws -> KeysProcess {
        try await Self.start(id, store: store, keySource: keySource ?? self.keySource, clock: clock, audit: audit)
    }

    private static func start(
        _ id: String, store: ObservedStore, keySource: any MasterKeySource, clock: ManualClock, audit: AuditTrail
    ) async throws -> KeysProcess {
        let loaded = try MasterKeyring(masterKeys: keySource.load())
        let holder = MasterKeyringHolder(try await KeyringCoordinator.agree(on: loaded, store: store, now: clock.now))
        let coordinator = KeyringCoordinator(
            store: store, holder: holder, keySource: keySource,
            replica: ReplicaSettings(id: id, address: "\(id).internal:8080", heartbeatInterval: replicaHeartbeat),
            startedAt: clock.now, clock: clock, logger: logger)
        return KeysProcess(
            holder: holder, coordinator: coordinator, rotation: KeyRotation(coordinator: coordinator, audit: audit),
            vault: CredentialVault(keyring: holder, dataKeys: store, cache: DataKeyCache(ttl: 0)))
    }

    /// Every credential opened by `process`, in owner order.
    func openEveryCredential(with process: KeysProcess) async throws -> [Credential] {
        var opened: [Credential] = []
        for item in sealed { opened.append(try await process.vault.openCredential(item.sealed, for: item.connection)) }
        return opened
    }

    /// The credentials as they were sealed, in owner order.
    var credentials: [Credential] { sealed.map(\.credential) }

    /// The actions of the audit events under `prefix`, oldest first.
    func auditedActions(_ prefix: String = "keys.") async throws -> [String] {
        try await memory.events(AuditQuery(action: prefix)).reversed().map(\.action.rawValue)
    }

    /// Lets the clock pass the time after which a replica's last heartbeat no longer counts as running.
    func letHeartbeatsGoStale() {
        clock.advance(by: .interval(Self.liveness + 1))
    }
}
