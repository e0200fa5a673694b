import Foundation
import Hummingbird
import LatchkeyAPI
import LatchkeyModel
import LatchkeyStore

/// `/v1/admin/audit`: the audit log, the check of its hash chains, and its export. Admin key only.
struct AdminAuditRoutes {
    let store: any LatchkeyStorage
    /// Events read from the store per page of an export.
    let exportPage = 500

    func register(on group: RouterGroup<AdminContext>) {
        group.get("/audit") { request, _ in
            let query = try AuditQueryParameters.read(request)
            let events = try await store.events(query)
            var body: [String: AnyEncodable] = ["events": AnyEncodable(events)]
            // A full page may have more below it: `before` continues the listing.
            if events.count == query.limit, let last = events.last?.id { body["next_before"] = AnyEncodable(last) }
            return APIResponse.json(body)
        }
        group.get("/audit/verify") { request, _ in
            let org = try AuditQueryParameters.token(request.queryValue("org"), field: "org")
            let report = try await AuditChainVerifier(store: store).verify(org: org)
            return APIResponse.json(["ok": AnyEncodable(report.ok), "chains": AnyEncodable(report.chains)])
        }
        group.get("/audit/export") { request, _ in
            let since = try AuditQueryParameters.time(request.queryValue("since"), field: "since")
            let org = try AuditQueryParameters.token(request.queryValue("org"), field: "org")
            var afterID: Int64 = 0
            if let raw = request.queryValue("after_id") {
                guard let id = Int64(raw), id >= 0 else {
                    throw LatchkeyError(.invalidRequest, "after_id: expected an event id (an integer, 0 or more)", field: "after_id")
                }
                afterID = id
            }
            var limit = Int.max
            if let raw = request.queryValue("limit") {
                guard let n = Int(raw), (1...100_000).contains(n) else {
                    throw LatchkeyError(.invalidRequest, "limit: expected an integer from 1 to 100000", field: "limit")
                }
                limit = n
            }
            let pageSize = min(exportPage, limit)
            // The first page is read before the answer starts, so a store that fails gives an error, not a cut stream.
            let first = try await store.chainedEvents(afterID: afterID, chain: org, since: since, limit: pageSize)
            let store = self.store
            let cap = limit
            return Response(
                status: .ok, headers: [.contentType: "application/x-ndjson; charset=utf-8", .cacheControl: "no-store"],
                body: ResponseBody { writer in
                    var page = first
                    var written = 0
                    let encoder = JSONEncoder.latchkeyAPI
                    while true {
                        written += page.count
                        var chunk = Data()
                        for row in page {
                            chunk.append(try encoder.encode(Self.line(row)))
                            chunk.append(UInt8(ascii: "\n"))
                        }
                        try await writer.write(ByteBuffer(bytes: chunk))
                        guard page.count == pageSize, written < cap, let last = page.last?.event.id else { break }
                        page = try await store.chainedEvents(afterID: last, chain: org, since: since, limit: min(pageSize, cap - written))
                    }
                    try await writer.finish(nil)
                })
        }
    }

    static func line(_ row: ChainedAuditEvent) -> AuditExportLine {
        let e = row.event
        return AuditExportLine(
            id: e.id ?? 0, chain: row.chain, seq: row.seq, at: e.at, atMicroseconds: AuditChain.microseconds(row.at), actor: e.actor.rawValue,
            action: e.action.rawValue, owner: e.owner?.description, provider: e.provider?.rawValue, connection: e.connectionID?.rawValue,
            outcome: e.outcome, detail: e.detail, previousHash: row.previousHash, hash: row.hash)
    }
}
