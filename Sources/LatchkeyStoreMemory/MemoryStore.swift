import Foundation
import LatchkeyModel
import LatchkeyStore
import Synchronization

/// A store that keeps everything in this process's memory: for fast unit tests of services and for single-process
/// experiments, not for serving. Nothing survives a restart, and no other process or replica can see it.
///
/// It keeps the SQL engines' contract: every call runs under one lock, so it is atomic like one transaction; the
/// uniqueness and reference rules their schemas enforce fail here with the same `LatchkeyError` code (`conflict`,
/// or `not_found` where they check first); listings come in their order. Values are structs copied in and out, so a
/// caller never shares state with the store. No call reads a clock: every time comes from the caller.
public final class MemoryStore: LatchkeyStorage, Sendable {
    let state = Mutex(State())

    /// An empty store.
    public init() {}

    /// Runs `body` under the lock, on the live state. A body that throws must do so before it changes anything (as a
    /// failed SQL statement changes nothing); one that may fail part-way through uses ``transaction(_:)``.
    func locked<T: Sendable, E: Error>(_ body: (inout State) throws(E) -> T) throws(E) -> T {
        try state.withLock { state throws(E) -> T in try body(&state) }
    }

    /// Runs `body` under the lock on a copy of the state, kept only when `body` returns: all of it or none of it, as a
    /// SQL transaction. Only the tables the body changes are copied.
    func transaction<T: Sendable>(_ body: (inout State) throws -> T) throws -> T {
        try state.withLock { state in
            var draft = state
            let result = try body(&draft)
            state = draft
            return result
        }
    }

    /// The error the SQL engines raise for a broken uniqueness or reference rule.
    static func conflict(_ message: String) -> LatchkeyError { LatchkeyError(.conflict, message) }
}

extension MemoryStore {
    /// Every table, one value: copying it copies nothing until a table is changed.
    struct State: Sendable {
        // Identities
        /// The platform exists from the start, as a migration makes it in the SQL stores.
        var owners: [OwnerRef: OwnerRow] = [.platform: OwnerRow(createdAt: Date(timeIntervalSince1970: 0))]
        var agentKeys: [String: AgentKeyRow] = [:]
        /// Orgs' credential choices, by org, then provider.
        var credentialChoices: [String: [ProviderID: CredentialChoice]] = [:]
        var mcpServers: [ProviderID: StoredMCPServer] = [:]
        /// Clients registered at remote MCP servers, by `StoredMCPClient.rowID`.
        var mcpClients: [String: StoredMCPClient] = [:]
        /// Agents' MCP sessions, by id hash.
        var mcpSessions: [String: StoredMCPSession] = [:]
        /// Daily usage, by its key (the row with zero calls and credits).
        var usage: [DailyUsage: DailyUsage] = [:]
        var narrowedKeys: [String: NarrowedKeyRecord] = [:]
        var dataKeys: [OwnerRef: WrappedDataKeyRecord] = [:]
        /// By provider, then owner.
        var apps: [ProviderID: [OwnerRef: AppRegistration]] = [:]
        var capabilityGrants: [OwnerRef: [StoredGrant]] = [:]
        var accessPolicies: [String: OrgAccessPolicy] = [:]
        var creditPools: [String: Int] = [:]
        var creditUsage: [CreditUsageKey: CreditUsage] = [:]
        // Connections and their flows
        var connections = ConnectionTable()
        var refreshLeases: [ConnectionID: RefreshLease] = [:]
        var connectSessions: [String: ConnectSession] = [:]
        var authorizationStates: [String: AuthorizationState] = [:]
        var audit = AuditLog()
        // Webhooks
        var webhooks: [String: Webhook] = [:]
        var deliveries = DeliveryQueue()
        // The dashboard and the replicas
        var adminSessions = SessionTable<Void>()
        /// By hour, then provider.
        var proxyCounts: [Int: [ProviderID: ProxyHourCounts]] = [:]
        var replicas: [String: ReplicaHeartbeat] = [:]
        var wrappingVersion: Int?
        // People
        var people: [OwnerRef: PersonRecord] = [:]
        var signInProviders: [String: SignInProvider] = [:]
        var signInLinks: [String: SignInLinkRow] = [:]
        var signInStates: [String: SignInState] = [:]
        var personSessions = SessionTable<OwnerRef>()
        /// By connection, then grantee.
        var consents: [ConnectionID: [OwnerRef: Consent]] = [:]
        // Approvals of single calls, by id
        var approvals: [String: ApprovalRecord] = [:]
    }
}

extension MemoryStore {
    /// A credit usage row's key: what one agent drew on one provider, in one org.
    struct CreditUsageKey: Hashable, Sendable {
        var org: String
        var provider: String
        var agent: String
    }
}

/// Text ordered by its UTF-8 bytes, as SQLite compares text (the engines' reference order for ids and names).
struct ByteOrder: Comparable, Sendable {
    let text: String
    init(_ text: String) { self.text = text }
    static func == (a: ByteOrder, b: ByteOrder) -> Bool { a.text.utf8.elementsEqual(b.text.utf8) }
    static func < (a: ByteOrder, b: ByteOrder) -> Bool { a.text.utf8.lexicographicallyPrecedes(b.text.utf8) }
}

extension Dictionary {
    /// Stores `value` under a key not yet taken; `conflict` otherwise, as a primary key does.
    mutating func insertNew(_ value: Value, for key: Key, _ what: @autoclosure () -> String) throws {
        guard self[key] == nil else { throw MemoryStore.conflict("\(what()) already exists") }
        self[key] = value
    }

    /// Removes the entries matching `shouldRemove`; returns how many went.
    @discardableResult
    mutating func removeAll(where shouldRemove: (Value) -> Bool) -> Int {
        let doomed = filter { shouldRemove($0.value) }.keys
        for key in doomed { removeValue(forKey: key) }
        return doomed.count
    }
}
