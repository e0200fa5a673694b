import Foundation

/// What a walk of the audit chains found: per chain, how many events were checked and the first that breaks it.
public struct AuditChainReport: Sendable, Equatable, Codable {
    public var chains: [Chain]
    /// Whether every chain holds.
    public var ok: Bool { chains.allSatisfy { $0.broken == nil } }

    public struct Chain: Sendable, Equatable, Codable {
        /// The org ("" for events of no org).
        public var org: String
        public var events: Int
        public var headSeq: Int64?
        public var broken: Break?

        enum CodingKeys: String, CodingKey {
            case org, events, broken
            case headSeq = "head_seq"
        }
    }

    /// The first event from which a chain no longer holds, and why.
    public struct Break: Sendable, Equatable, Codable {
        /// The event's id; nil when what is wrong is the end of the chain (events removed after the last one left).
        public var eventID: Int64?
        public var seq: Int64?
        /// `edited`, `removed`, `reordered`, `unchained` or `head_mismatch`.
        public var problem: String
        public var message: String

        enum CodingKeys: String, CodingKey {
            case seq, problem, message
            case eventID = "event_id"
        }
    }
}

/// Walks each of the audit log's chains (``AuditChain``) in chain order, recomputing each hash, and names the first event
/// of each chain that was edited, removed, reordered or forged outside the chain.
public struct AuditChainVerifier: Sendable {
    let store: any AuditStore
    let pageSize: Int

    public init(store: any AuditStore, pageSize: Int = 1000) {
        self.store = store
        self.pageSize = pageSize
    }

    /// Checks every chain, or only `org`'s.
    public func verify(org: String? = nil) async throws -> AuditChainReport {
        let heads = Dictionary(try await store.auditChainHeads().map { ($0.chain, $0) }, uniquingKeysWith: { first, _ in first })
        // A row written outside the chain counts against its owner's org (or no org's); the first one is named.
        var unchained: [String: ChainedAuditEvent] = [:]
        for row in try await store.unchainedAuditEvents(limit: 10_000) where unchained[AuditChain.chain(of: row.event)] == nil {
            unchained[AuditChain.chain(of: row.event)] = row
        }
        let names = Set(try await store.auditChainNames()).union(heads.keys).union(unchained.keys).filter { org == nil || $0 == org }
        var chains: [AuditChainReport.Chain] = []
        for name in names.sorted() {
            var walk = Walk()
            var afterSeq: Int64 = 0
            while walk.broken == nil {
                let page = try await store.auditChain(name, afterSeq: afterSeq, limit: pageSize)
                for row in page { walk.check(row, chain: name) }
                guard page.count == pageSize, let last = page.last?.seq else { break }
                afterSeq = last
            }
            walk.end(at: heads[name])
            if walk.broken == nil, let row = unchained[name] {
                walk.broken = AuditChainReport.Break(
                    eventID: row.event.id, seq: row.seq, problem: "unchained",
                    message: "event \(row.event.id ?? 0) has no place in the chain: it was written outside Latchkey")
            }
            chains.append(AuditChainReport.Chain(org: name, events: walk.events, headSeq: heads[name]?.seq, broken: walk.broken))
        }
        return AuditChainReport(chains: chains)
    }

    /// One chain's walk so far.
    struct Walk {
        var events = 0
        var lastSeq: Int64 = 0
        var lastHash = AuditChain.genesis
        var broken: AuditChainReport.Break?

        mutating func check(_ row: ChainedAuditEvent, chain: String) {
            guard broken == nil, let seq = row.seq else { return }
            events += 1
            let id = row.event.id ?? 0
            if seq > lastSeq + 1 {
                return fail(row, "removed", "event \(id) (number \(seq)) follows number \(lastSeq): \(seq - lastSeq - 1) event(s) before it were removed")
            }
            if row.previousHash != lastHash {
                return fail(row, "reordered", "event \(id) (number \(seq)) does not follow the event before it: the chain was reordered, or the one before replaced")
            }
            if AuditChain.hash(previous: lastHash, chain: chain, seq: seq, at: row.at, event: row.event) != row.hash {
                return fail(row, "edited", "event \(id) (number \(seq)) was edited after it was written: its hash does not match")
            }
            lastSeq = seq
            lastHash = row.hash ?? ""
        }

        mutating func fail(_ row: ChainedAuditEvent, _ problem: String, _ message: String) {
            broken = AuditChainReport.Break(eventID: row.event.id, seq: row.seq, problem: problem, message: message)
        }

        /// The chain must end where its head says.
        mutating func end(at head: AuditChainHead?) {
            guard broken == nil else { return }
            guard let head else {
                if events > 0 {
                    broken = AuditChainReport.Break(eventID: nil, seq: nil, problem: "head_mismatch", message: "the chain's head is gone")
                }
                return
            }
            if head.seq > lastSeq {
                broken = AuditChainReport.Break(
                    eventID: nil, seq: lastSeq + 1, problem: "removed",
                    message: "the chain ends at number \(lastSeq) but its head is number \(head.seq): the last \(head.seq - lastSeq) event(s) were removed")
            } else if head.seq != lastSeq || head.hash != lastHash {
                broken = AuditChainReport.Break(
                    eventID: nil, seq: head.seq, problem: "head_mismatch", message: "the chain's head (number \(head.seq)) does not match its last event")
            }
        }
    }
}
