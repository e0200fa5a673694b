import Foundation
import Hummingbird
import LatchkeyConnect
import LatchkeyConnections
import LatchkeyManifest
import LatchkeyModel
import LatchkeyProxy
import LatchkeyStore

/// `GET /admin/orgs` (every org and its pool) and `GET /admin/orgs/{org}`: an org's credit pool, its usage per
/// provider and agent (managed or own, with a chart of the last 30 days), and its managed-or-own choice per provider,
/// which an admin changes there (`POST /admin/orgs/{org}/integrations/{provider}`, CSRF-checked).
struct OrgPages {
    let store: any LatchkeyStorage
    let catalog: ProviderCatalog
    let choices: CredentialChoices
    let usage: UsageLedger
    let integrations: IntegrationPages
    let form: DashboardFormAction

    func register(on group: RouterGroup<DashboardContext>) {
        group.get("/orgs") { _, context in
            try await integrations.page(context) { chrome in
                var rows: [[String: Any]] = []
                for org in try await store.orgNames() {
                    rows.append(["org": org, "balance": try await store.creditBalance(org: org)])
                }
                return integrations.pages.render("orgs", title: "Orgs", ["orgs": rows], chrome: chrome)
            }
        }
        group.get("/orgs/:org") { _, context in
            try await integrations.page(context) { chrome in
                let org = try await OrgPath.existing(context.parameters, store: store)
                return integrations.pages.render("org", title: org.description, try await values(org.org, csrf: chrome.csrf), chrome: chrome)
            }
        }
        group.post("/orgs/:org/integrations/:provider") { request, context in
            let org = try OwnerRef(kind: .org, path: context.parameters.get("org") ?? "", field: "org")
            return try await form.run(request, context, back: "/admin/orgs/\(org.org)") { fields in
                _ = try await OrgPath.existing(context.parameters, store: store)
                let manifest = try catalog.manifest(context.parameters.get("provider") ?? "")
                let credentials = try CredentialSource(parsing: DashboardForm.field(fields, "credentials") ?? "", field: "credentials")
                let resolution = try await choices.choose(
                    org: org, provider: manifest.id, kind: manifest.credentialKind, credentials: credentials,
                    agentsMayChoose: fields["agents_may_choose"] == "on", actor: .admin)
                return "\(org) now uses \(Self.label(resolution.credentials, kind: manifest.credentialKind)) for \(manifest.name)."
            }
        }
    }

    func values(_ org: String, csrf: String) async throws -> [String: Any] {
        let now = integrations.clock.now
        let report = try await UsageReport.of(org: org, store: store, ledger: usage, now: now)
        let today = DailyUsage.day(of: now)
        var days = Array(repeating: OutcomeCounts(), count: UsageReport.days)
        for row in report.daily {
            let slot = UsageReport.days - 1 - (today - row.day)
            guard days.indices.contains(slot) else { continue }
            if row.credentials == .managed { days[slot].succeeded += row.calls } else { days[slot].failed += row.calls }
        }
        var choiceRows: [[String: Any]] = []
        for manifest in catalog.sorted where manifest.credentialKind != .none {
            let kind = manifest.credentialKind
            // One org: its own apps and keys only, not every org's.
            let r = try await choices.resolution(org: org, provider: manifest.id, kind: kind)
            choiceRows.append([
                "provider": manifest.id.rawValue, "name": manifest.name, "label": Self.label(r.credentials, kind: kind),
                "chosen": r.chosen != nil, "managed": r.credentials == .managed, "own": r.credentials == .own,
                "platform_offers": r.platformOffers, "org_has_own": r.orgHasOwn, "agents_may_choose": r.agentsMayChoose,
            ])
        }
        return [
            "org": org, "balance": try await store.creditBalance(org: org), "csrf": csrf,
            "usage": report.totals.map { t -> [String: Any] in
                [
                    "provider": t.provider, "agent": t.agent, "calls": t.calls, "credits": t.credits,
                    "credentials": t.credentials == CredentialSource.managed.rawValue ? "managed by the platform" : "own",
                ]
            },
            "chart": HourlyChart(
                hours: days, id: "usage-chart", label: "Calls on managed credentials (blue) and on own (grey)", colours: ("#2f5bea", "#9aa3b5"),
                unit: "d"
            ).svg,
            "choices": choiceRows,
        ]
    }

    /// `managed by the platform`, or `own app` / `own key`.
    static func label(_ credentials: CredentialSource, kind: CredentialChoices.CredentialKind) -> String {
        switch credentials {
        case .managed: "managed by the platform"
        case .own: kind == .app ? "own app" : "own key"
        }
    }
}
