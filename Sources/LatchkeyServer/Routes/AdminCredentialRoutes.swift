import Foundation
import Hummingbird
import LatchkeyAPI
import LatchkeyConnect
import LatchkeyConnections
import LatchkeyManifest
import LatchkeyModel
import LatchkeyStore

/// `/v1/admin/orgs/{org}/integrations`: each org's choice, per provider, between the platform's credentials and its
/// own, and what it resolves to. Admin key only.
struct AdminCredentialRoutes {
    let store: any LatchkeyStorage
    let catalog: ProviderCatalog
    let choices: CredentialChoices
    /// The largest JSON body read.
    let bodyLimit: Int

    func register(on group: RouterGroup<AdminContext>) {
        let limit = bodyLimit
        // Every provider that takes a credential, with what the org uses for it.
        group.get("/orgs/:org/integrations") { _, context in
            let org = try await OrgPath.existing(context.parameters, store: store)
            var views: [CredentialChoiceView] = []
            for manifest in catalog.sorted where manifest.credentialKind != .none {
                views.append(CredentialChoiceView(try await choices.resolution(org: org.org, provider: manifest.id, kind: manifest.credentialKind)))
            }
            return APIResponse.json(["integrations": views])
        }
        group.get("/orgs/:org/integrations/:provider") { _, context in
            let org = try await OrgPath.existing(context.parameters, store: store)
            let manifest = try catalog.manifest(context.parameters.get("provider") ?? "")
            return APIResponse.json(CredentialChoiceView(try await choices.resolution(org: org.org, provider: manifest.id, kind: manifest.credentialKind)))
        }
        // `{"credentials": "managed" | "own", "agents_may_choose": false}`.
        group.put("/orgs/:org/integrations/:provider") { request, context in
            let org = try await OrgPath.existing(context.parameters, store: store)
            let manifest = try catalog.manifest(context.parameters.get("provider") ?? "")
            let body = try await JSONBody.read(request, limit: limit)
            let credentials = try CredentialSource(parsing: try body.string("credentials"), field: "credentials")
            let agentsMayChoose: Bool
            switch body.object["agents_may_choose"] {
            case nil, .null?: agentsMayChoose = false
            case .bool(let flag)?: agentsMayChoose = flag
            default: throw LatchkeyError(.invalidRequest, "agents_may_choose: must be true or false", field: "agents_may_choose")
            }
            let resolution = try await choices.choose(
                org: org, provider: manifest.id, kind: manifest.credentialKind, credentials: credentials, agentsMayChoose: agentsMayChoose,
                actor: .admin)
            return APIResponse.json(CredentialChoiceView(resolution))
        }
    }
}

extension CredentialChoiceView {
    init(_ resolution: CredentialChoices.Resolution) {
        self.init(
            org: resolution.org, provider: resolution.provider.rawValue, credentials: resolution.credentials, choice: resolution.chosen,
            agentsMayChoose: resolution.agentsMayChoose, platformOffers: resolution.platformOffers, orgHasOwn: resolution.orgHasOwn,
            updatedAt: resolution.updatedAt)
    }
}
