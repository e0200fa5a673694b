import Foundation
import LatchkeyAPI
import LatchkeyConnections
import LatchkeyCrypto
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyProxy
import LatchkeyRuntime
import LatchkeyStore

/// Decides held calls and runs each approved one exactly once, as the agent that made it, on the connection it was
/// made on, with that agent's grants as they are when it runs.
///
/// Of concurrent decisions, on any replica, the store lets exactly one through; the replica that approved runs the
/// call and keeps the provider's answer, sealed, for the agent to fetch.
public struct ApprovalDesk: Sendable {
    let store: any ApprovalStore
    let vault: CredentialVault
    let audit: AuditTrail
    let clock: any LatchkeyClock
    let catalog: ProviderCatalog
    let resolver: ConnectionResolver
    let proxy: ProxyService
    let tools: ToolRunner
    /// Tells whether the key the call came with still lives when it runs.
    let keys: AgentKeyCache
    let identities: any IdentityStore & NarrowedKeyStore
    let publicURL: String

    public init(
        store: any ApprovalStore, vault: CredentialVault, audit: AuditTrail, clock: any LatchkeyClock, catalog: ProviderCatalog,
        resolver: ConnectionResolver, proxy: ProxyService, tools: ToolRunner, keys: AgentKeyCache,
        identities: any IdentityStore & NarrowedKeyStore, publicURL: String
    ) {
        self.store = store
        self.vault = vault
        self.audit = audit
        self.clock = clock
        self.catalog = catalog
        self.resolver = resolver
        self.proxy = proxy
        self.tools = tools
        self.keys = keys
        self.identities = identities
        self.publicURL = publicURL
    }

    /// The approval `id` as `decider` may see it: the admin sees every one, a person those on their own connections.
    /// Anyone else gets 404, as for an approval that does not exist.
    public func approval(_ id: String, for decider: Caller) async throws -> ApprovalRecord {
        guard let record = try await store.approval(id: id), Self.mayDecide(decider, record) else {
            throw LatchkeyError(.notFound, "approval: no approval \(id) that you may decide", field: "approval")
        }
        guard Self.isAbandoned(record, at: clock.now) else { return record }
        await abandon(record)
        return try await store.approval(id: id) ?? record
    }

    /// How long an approved call may run before its replica counts as gone: far past the proxy's 30-second limit.
    public static let longestRun: TimeInterval = 5 * 60

    /// Whether `record` was approved and started so long ago that the replica running it must have stopped.
    static func isAbandoned(_ record: ApprovalRecord, at now: Date) -> Bool {
        record.state == .running && (record.decidedAt ?? record.createdAt).addingTimeInterval(Self.longestRun) <= now
    }

    /// Ends an approval whose runner stopped before it recorded the answer: failed, never run again, since the
    /// provider may or may not have received the call. Of concurrent callers, the store lets one finish it.
    func abandon(_ record: ApprovalRecord) async {
        let error = LatchkeyError(
            .providerUnavailable,
            "the replica that ran \(record.id) stopped before it recorded the provider's answer; whether the provider received the call is unknown, and it is not run again")
        guard let sealed = try? await vault.seal(Self.errorJSON(error).serialized(), binding: record.binding("approval.result")),
            (try? await store.finishApproval(id: record.id, succeeded: false, status: nil, sealedResult: sealed, at: clock.now)) == true
        else { return }
        await audit.record(AuditEvent(
            at: clock.now, actor: .system, action: .approvalFailed, owner: record.agent, provider: record.provider,
            connectionID: record.connection, outcome: "failure", detail: "\(record.id): \(error.code), its runner stopped"))
    }

    /// Whether `caller` may see and decide `record`.
    static func mayDecide(_ caller: Caller, _ record: ApprovalRecord) -> Bool {
        switch caller {
        case .admin: true
        case .person(let person): record.connectionOwner == person
        case .agent: false
        }
    }

    /// The states an approval is shown in: the stored ones, and `expired` for a pending one nobody decided in time.
    public static let shownStates = ["pending", "expired", "running", "done", "failed", "declined"]

    /// The approvals `decider` may decide (or has decided), newest first: all of them, or those in the shown `state`.
    public func approvals(for decider: Caller, state: String?, agent: OwnerRef? = nil, limit: Int = 100) async throws -> [ApprovalRecord] {
        if let state, !Self.shownStates.contains(state) {
            throw LatchkeyError(.invalidRequest, "state: one of \(Self.shownStates.joined(separator: ", "))", field: "state")
        }
        let stored: Set<ApprovalRecord.State>? = state.map { $0 == "expired" ? [.pending] : [ApprovalRecord.State(rawValue: $0) ?? .pending] }
        let owner: OwnerRef?
        switch decider {
        case .admin: owner = nil
        case .person(let person): owner = person
        case .agent: return []
        }
        let now = clock.now
        return try await store.approvals(ApprovalQuery(states: stored, agent: agent, connectionOwner: owner, limit: limit)).filter { record in
            switch state {
            case "pending": record.expiresAt > now
            case "expired": record.expiresAt <= now
            default: true
            }
        }
    }

    /// Reads a decision as every form and body writes it: `approve` is true, `decline` false; anything else is 400
    /// naming `decision`.
    public static func approves(_ decision: String?) throws(LatchkeyError) -> Bool {
        switch decision {
        case "approve": return true
        case "decline": return false
        default: throw LatchkeyError(.invalidRequest, "decision: 'approve' or 'decline'", field: "decision")
        }
    }

    /// Approves or declines `id` for `decider`. An approved call runs here, once, before this returns; the record
    /// returned is as it ended. Deciding twice is 409 `conflict`, too late 410 `approval_expired`.
    public func decide(_ id: String, approve: Bool, by decider: Caller) async throws -> ApprovalRecord {
        let record = try await approval(id, for: decider)
        let now = clock.now
        guard let decided = try await store.decideApproval(id: id, approve: approve, by: decider.actorName, at: now) else {
            let latest = try await store.approval(id: id) ?? record
            if latest.state == .pending { throw Self.expired(id) }
            throw LatchkeyError(.conflict, "decision: \(id) was decided already (\(latest.state.rawValue)) by \(latest.decidedBy ?? "someone")", field: "decision")
        }
        await audit.record(AuditEvent(
            at: now, actor: AuditActor(decider), action: approve ? .approvalApproved : .approvalDeclined, owner: decided.agent,
            provider: decided.provider, connectionID: decided.connection, detail: "\(id): \(decided.summary)"))
        guard approve else { return decided }
        // The run is not a child of this request: a decider who goes away does not cut the call short.
        let desk = self
        return await Task { await desk.run(decided) }.value
    }

    /// Runs an approval this replica just won: as its agent, if the key it came with still lives, on its connection.
    /// The answer, or why it could not run, is stored sealed; either way the approval ends.
    func run(_ record: ApprovalRecord) async -> ApprovalRecord {
        var ended = record
        do {
            let caller = try await callerOfRecord(record)
            let call = try StoredJSON.required(
                PendingCall.self, String(decoding: try await vault.open(record.sealedCall, binding: record.binding("approval.call")), as: UTF8.self),
                "sealed_call")
            let (status, answer) = try await perform(call, record: record, caller: caller)
            ended.state = .done
            ended.resultStatus = status
            ended.sealedResult = try await vault.seal(answer.serialized(), binding: record.binding("approval.result"))
            await audit.record(AuditEvent(
                at: clock.now, actor: AuditActor(caller), action: .approvalRan, owner: record.agent, provider: record.provider,
                connectionID: record.connection, detail: "\(record.id): \(record.summary) answered \(status)"))
        } catch {
            let failure = error as? LatchkeyError ?? LatchkeyError(.internalError, "the approved call could not run")
            ended.state = .failed
            ended.resultStatus = nil
            ended.sealedResult = try? await vault.seal(Self.errorJSON(failure).serialized(), binding: record.binding("approval.result"))
            await audit.record(AuditEvent(
                at: clock.now, actor: .system, action: .approvalFailed, owner: record.agent, provider: record.provider,
                connectionID: record.connection, outcome: "failure", detail: "\(record.id): \(failure.code)"))
        }
        ended.finishedAt = clock.now
        _ = try? await store.finishApproval(
            id: record.id, succeeded: ended.state == .done, status: ended.resultStatus, sealedResult: ended.sealedResult ?? [],
            at: ended.finishedAt ?? clock.now)
        return ended
    }

    /// The agent, held to its narrowed key if it used one, when the key the call came with still lives.
    func callerOfRecord(_ record: ApprovalRecord) async throws -> Caller {
        guard let caller = try await keys.caller(forKeyHash: record.keyHash, identities: identities),
            case .agent(let agent, _, _) = caller, agent == record.agent
        else {
            throw LatchkeyError(.unauthenticated, "Authorization: the key key_\(record.keyHash.prefix(12)) that made the call is revoked or expired", field: "Authorization")
        }
        return caller
    }

    /// Makes the held call and returns the provider's status and the answer the agent will fetch. It is sent once,
    /// whatever its method: no retry after a 429 or 5xx (a 401 still refreshes the token and tries once more, since
    /// the provider refused the call).
    func perform(_ call: PendingCall, record: ApprovalRecord, caller: Caller) async throws -> (Int, JSONValue) {
        // A person's connection is reached as the agent reached it: naming the person, whose consent still counts.
        let user = record.connectionOwner.kind == .user ? record.connectionOwner.path : nil
        switch call {
        case .tool(let name, let arguments):
            let outcome = try await tools.call(
                name, arguments: arguments, connectionID: record.connection.rawValue, user: user, caller: caller, approved: true)
            return (outcome.status, outcome.json)
        case .proxy(let method, let path, let query, let headers, let body):
            let manifest = try catalog.manifest(record.provider.rawValue)
            let stored = try await resolver.resolve(caller: caller, provider: manifest.id, connectionID: record.connection.rawValue, user: user)
            let response = try await proxy.send(
                ProxyService.Call(
                    method: method, path: path, query: query, headers: headers.map { OutboundHeader(name: $0.name, value: $0.value) },
                    body: body.map { .bytes(Array($0)) } ?? .none, retries: .none, approved: true),
                manifest: manifest, stored: stored, caller: caller)
            var returned: [String: JSONValue] = [:]
            for header in HeaderPolicy.returnable(response.headers) { returned[header.name.lowercased()] = .string(header.value) }
            var answer: [String: JSONValue] = ["status": .number(Double(response.status)), "headers": .object(returned)]
            if let json = JSONValue.parse(response.body) {
                answer["body"] = json
            } else if let text = String(bytes: response.body, encoding: .utf8) {
                answer["body"] = .string(text)
            } else {
                answer["body_base64"] = .string(Data(response.body).base64EncodedString())
            }
            return (response.status, .object(answer))
        }
    }

    static func expired(_ id: String) -> LatchkeyError {
        LatchkeyError(.approvalExpired, "approval: nobody decided on \(id) in time; the call never ran", field: "approval")
    }

    static func errorJSON(_ error: LatchkeyError) -> JSONValue {
        var body: [String: JSONValue] = ["code": .string(error.code.rawValue), "message": .string(error.message)]
        if let field = error.field { body["field"] = .string(field) }
        return .object(["error": .object(body)])
    }
}
