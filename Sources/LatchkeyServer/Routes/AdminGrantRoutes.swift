import Foundation
import Hummingbird
import LatchkeyGrants
import LatchkeyModel
import LatchkeyProxy
import LatchkeyRuntime
import LatchkeyStore

/// `/v1/admin`: the grants of agents, projects and teams, each org's access policy, and an org's credits. Admin key only.
struct AdminGrantRoutes {
    let store: any LatchkeyStorage
    let clock: any LatchkeyClock
    let audit: AuditTrail
    let grants: GrantDirectory
    /// Each org's calls per day, managed or own.
    let usage: UsageLedger
    /// The largest JSON body read.
    let bodyLimit: Int

    func register(on group: RouterGroup<AdminContext>) {
        let limit = bodyLimit
        for holder in Self.holders {
            group.put(RouterPath(holder.path)) { request, context in
                let owner = try holder.owner(context)
                let body = try await JSONBody.read(request, limit: limit)
                let stored = try await grants.replace(owner, with: try grants.read(.object(body.object)), actor: .admin)
                return answer(owner, stored)
            }
            group.get(RouterPath(holder.path)) { _, context in
                let owner = try holder.owner(context)
                return answer(owner, try await grants.grants(of: owner))
            }
        }
        group.put("/orgs/:org/policy") { request, context in
            let org = try OwnerRef(kind: .org, path: context.parameters.get("org") ?? "", field: "org")
            let policy = try Self.policy(try await JSONBody.read(request, limit: limit))
            try await grants.setPolicy(policy, org: org, actor: .admin)
            return APIResponse.json(PolicyAnswer(org: org.org, policy: try await grants.policy(org: org)))
        }
        group.get("/orgs/:org/policy") { _, context in
            let org = try OwnerRef(kind: .org, path: context.parameters.get("org") ?? "", field: "org")
            return APIResponse.json(PolicyAnswer(org: org.org, policy: try await grants.policy(org: org)))
        }
        group.post("/orgs/:org/credits") { request, context in
            let org = try await OrgPath.existing(context.parameters, store: store)
            let body = try await JSONBody.read(request, limit: limit)
            guard case .number(let n)? = body.object["add"], n.rounded() == n, n > 0, n < 1e12 else {
                throw LatchkeyError(.invalidRequest, "add: must be a positive whole number of credits", field: "add")
            }
            let balance = try await store.addCredits(org: org.org, amount: Int(n))
            await audit.record(AuditEvent(at: clock.now, actor: .admin, action: .creditsAdded, owner: org, detail: "\(Int(n))"))
            return APIResponse.json(["org": AnyEncodable(org.org), "balance": AnyEncodable(balance)])
        }
        group.get("/orgs/:org/credits") { _, context in
            let org = try OwnerRef(kind: .org, path: context.parameters.get("org") ?? "", field: "org")
            let balance = try await store.creditBalance(org: org.org)
            let report = try await UsageReport.of(org: org.org, store: store, ledger: usage, now: clock.now)
            return APIResponse.json([
                "org": AnyEncodable(org.org), "balance": AnyEncodable(balance), "usage": AnyEncodable(report.totals),
                "daily": AnyEncodable(report.daily.map(DailyUsageView.init)),
            ])
        }
    }
}

/// One day of one agent's calls on one provider, as the usage report shows it.
struct DailyUsageView: Encodable {
    var day: String
    var provider: String
    var agent: String
    var credentials: String
    var calls: Int
    var credits: Int

    init(_ u: DailyUsage) {
        day = Self.date(u.day)
        provider = u.provider.rawValue
        agent = u.agent
        credentials = u.credentials.rawValue
        calls = u.calls
        credits = u.credits
    }

    /// `YYYY-MM-DD` of a day counted since 1970, UTC.
    static func date(_ day: Int) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(day) * 86_400))
    }
}

extension AdminGrantRoutes {
    /// An owner that can hold grants, and where its `grants` route sits.
    struct Holder: Sendable {
        var kind: OwnerRef.Kind
        var segments: [String]
        var path: String { "/\(kind.rawValue)s/" + segments.map { ":" + $0 }.joined(separator: "/") + "/grants" }

        func owner(_ context: AdminContext) throws(LatchkeyError) -> OwnerRef {
            try OwnerRef(kind: kind, segments: segments.map { context.parameters.get($0) ?? "" }, field: kind.rawValue)
        }
    }

    static let holders = [
        Holder(kind: .agent, segments: ["org", "team", "project", "agent"]),
        Holder(kind: .project, segments: ["org", "team", "project"]),
        Holder(kind: .team, segments: ["org", "team"]),
    ]

    /// `{"owner", "tools", "grants"}`, and `agent` for an agent as before: `tools` lists the tools granted by name
    /// and still live, `grants` every grant with `expired` marked.
    func answer(_ owner: OwnerRef, _ held: [Grant]) -> Response {
        let now = clock.now
        var fields: [String: AnyEncodable] = [
            "owner": AnyEncodable(owner.description), "tools": AnyEncodable(grants.toolNames(of: held, at: now)),
            "grants": AnyEncodable(held.map { $0.view(at: now) }),
        ]
        if owner.kind == .agent { fields["agent"] = AnyEncodable(owner.description) }
        return APIResponse.json(fields)
    }

    /// An org's policy as the API shows it.
    struct PolicyAnswer: Encodable {
        var org: String
        var readTools: OrgAccessPolicy.Openness
        var proxy: OrgAccessPolicy.Openness

        init(org: String, policy: OrgAccessPolicy) {
            (self.org, readTools, proxy) = (org, policy.readTools, policy.proxy)
        }

        enum CodingKeys: String, CodingKey {
            case org, proxy
            case readTools = "read_tools"
        }
    }

    /// Reads `{"read_tools","proxy"}`; each is `open` or `granted`, and one left out is `open` (a PUT replaces).
    static func policy(_ body: JSONBody) throws(LatchkeyError) -> OrgAccessPolicy {
        if let unknown = body.object.keys.sorted().first(where: { !["read_tools", "proxy"].contains($0) }) {
            throw LatchkeyError(.invalidRequest, "\(unknown): not a field of a policy (read_tools, proxy)", field: unknown)
        }
        func openness(_ field: String) throws(LatchkeyError) -> OrgAccessPolicy.Openness {
            guard let raw = try body.optionalString(field) else { return .open }
            guard let value = OrgAccessPolicy.Openness(rawValue: raw) else {
                throw LatchkeyError(.invalidRequest, "\(field): must be open or granted", field: field)
            }
            return value
        }
        return OrgAccessPolicy(readTools: try openness("read_tools"), proxy: try openness("proxy"))
    }
}
