import Foundation
import LatchkeyModel
import LatchkeyStore

/// The append-only audit log: events in order of appending, each given the next id and its place in its org's chain.
struct AuditLog: Sendable {
    private(set) var chained: [ChainedAuditEvent] = []
    private(set) var heads: [String: AuditChainHead] = [:]

    /// Appends `event` under a new id (any id it carries is ignored, as the engines' identity column does).
    mutating func append(_ event: AuditEvent) {
        var stored = event
        stored.id = (chained.last?.event.id ?? 0) + 1
        let chain = AuditChain.chain(of: stored)
        let seq = (heads[chain]?.seq ?? 0) + 1
        let previous = heads[chain]?.hash ?? AuditChain.genesis
        let at = stored.at.timeIntervalSince1970
        let hash = AuditChain.hash(previous: previous, chain: chain, seq: seq, at: at, event: stored)
        chained.append(ChainedAuditEvent(event: stored, at: at, chain: chain, seq: seq, previousHash: previous, hash: hash))
        heads[chain] = AuditChainHead(chain: chain, seq: seq, hash: hash)
    }

    /// The events matching `query`, newest first, at most `query.limit`.
    func matching(_ query: AuditQuery) -> [AuditEvent] {
        Array(chained.reversed().lazy.map(\.event).filter { Self.matches($0, query) }.prefix(max(0, query.limit)))
    }

    private static func matches(_ e: AuditEvent, _ q: AuditQuery) -> Bool {
        if let prefix = q.ownerPrefix, !(e.owner.map(prefix.encloses) ?? false) { return false }
        if let since = q.since, e.at < since { return false }
        if let until = q.until, e.at >= until { return false }
        if let action = q.action {
            // An action ending with a dot is every action under it; anything else is exact.
            let matched = action.hasSuffix(".") ? e.action.rawValue.utf8.starts(with: action.utf8) : e.action.rawValue == action
            if !matched { return false }
        }
        if let beforeID = q.beforeID, let id = e.id, id >= beforeID { return false }
        return (q.provider.map { $0 == e.provider } ?? true) && (q.connectionID.map { $0 == e.connectionID } ?? true)
            && (q.actor.map { $0 == e.actor.rawValue } ?? true) && (q.outcome.map { $0 == e.outcome } ?? true)
    }
}

extension MemoryStore: AuditStore {
    public func append(_ event: AuditEvent) async throws {
        locked { $0.audit.append(event) }
    }

    public func events(_ query: AuditQuery) async throws -> [AuditEvent] {
        locked { $0.audit.matching(query) }
    }

    public func chainedEvents(afterID: Int64, chain: String?, since: Date?, limit: Int) async throws -> [ChainedAuditEvent] {
        locked { state in
            Array(
                state.audit.chained.lazy.filter { row in
                    (row.event.id ?? 0) > afterID && (chain.map { $0 == row.chain } ?? true)
                        && (since.map { row.event.at >= $0 } ?? true)
                }.prefix(max(0, limit)))
        }
    }

    public func auditChain(_ chain: String, afterSeq: Int64, limit: Int) async throws -> [ChainedAuditEvent] {
        locked { state in
            Array(
                state.audit.chained.filter { $0.chain == chain && ($0.seq ?? 0) > afterSeq }.sorted { ($0.seq ?? 0) < ($1.seq ?? 0) }
                    .prefix(max(0, limit)))
        }
    }

    public func auditChainNames() async throws -> [String] {
        locked { state in Set(state.audit.chained.compactMap(\.chain)).sorted() }
    }

    /// The memory store writes every event into its chain: there is no other way in.
    public func unchainedAuditEvents(limit: Int) async throws -> [ChainedAuditEvent] { [] }

    public func auditChainHeads() async throws -> [AuditChainHead] {
        locked { state in state.audit.heads.values.sorted { $0.chain < $1.chain } }
    }
}
