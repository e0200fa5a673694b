import Foundation
import LatchkeyModel

/// The seeded world: `orgs` organizations of one shape, so a bigger world has more of the same orgs and every lookup
/// finds as many rows at every size.
///
/// Each org has one team (`t0`), two projects (`p0`, `p1`) and five agents per project (14 owners), and 84 connections:
/// one per provider at the org, two at the team, two per project, and seven per agent (each agent lacks one
/// provider, so some lookups inherit from the project, team or org).
struct World: Sendable {
    static let providers: [ProviderID] = ["github", "slack", "google", "notion", "linear", "jira", "salesforce", "hubspot"]
    /// Providers whose connections hold an API key rather than OAuth tokens.
    static let apiKeyProviders: Set<ProviderID> = ["notion", "linear"]
    static let agentsPerProject = 5
    static let connectionsPerOrg = 8 + 2 + 2 * 2 + 2 * agentsPerProject * 7

    let orgs: Int
    let start: Date

    /// The smallest world with at least `connections` connections.
    init(connections: Int, start: Date = Date()) {
        orgs = max(1, (connections + Self.connectionsPerOrg - 1) / Self.connectionsPerOrg)
        self.start = start
    }

    var connectionCount: Int { orgs * Self.connectionsPerOrg }

    static func org(_ i: Int) -> String { "o\(i)" }

    /// Every owner of org `i`, parents before children.
    func owners(org i: Int) -> [OwnerRef] {
        let org = Self.org(i)
        var owners = [Self.owner(.org, [org]), Self.owner(.team, [org, "t0"])]
        for p in 0..<2 { owners.append(Self.owner(.project, [org, "t0", "p\(p)"])) }
        for p in 0..<2 {
            for a in 0..<Self.agentsPerProject { owners.append(Self.owner(.agent, [org, "t0", "p\(p)", "a\(a)"])) }
        }
        return owners
    }

    /// A random agent of a random org.
    func randomAgent(using rng: inout some RandomNumberGenerator) -> OwnerRef {
        Self.owner(
            .agent, [Self.org(Int.random(in: 0..<orgs, using: &rng)), "t0", "p\(Int.random(in: 0..<2, using: &rng))",
                     "a\(Int.random(in: 0..<Self.agentsPerProject, using: &rng))"])
    }

    /// The connections of org `i` and the credential each holds, as the admin API and a connect flow would store them.
    func connections(org i: Int) -> [(Connection, Credential)] {
        let org = Self.org(i)
        var out: [(Connection, Credential)] = []
        out.reserveCapacity(Self.connectionsPerOrg)
        func add(_ owner: OwnerRef, _ provider: ProviderID) {
            let n = i * Self.connectionsPerOrg + out.count
            let created = start.addingTimeInterval(Double(n) / 1000)
            let apiKey = Self.apiKeyProviders.contains(provider)
            let connection = Connection(
                id: .random(), provider: provider, owner: owner, state: n % 40 == 39 ? .needsReauth : .active,
                account: AccountIdentity(id: "acct-\(n)", name: "Account \(n)"),
                scopesRequested: apiKey ? [] : ["read", "write"], scopesGranted: apiKey ? [] : ["read", "write"],
                config: provider == "jira" ? ["site": "\(org).atlassian.net"] : [:],
                expiresAt: apiKey ? nil : created.addingTimeInterval(3600), lastRefreshedAt: apiKey ? nil : created,
                isDefault: true, createdAt: created, updatedAt: created)
            let credential =
                apiKey
                ? Credential(apiKey: "key-" + RandomToken.base64URL(bytes: 24))
                : Credential(
                    accessToken: "at-" + RandomToken.base64URL(bytes: 32), refreshToken: "rt-" + RandomToken.base64URL(bytes: 32),
                    tokenType: "Bearer")
            out.append((connection, credential))
        }
        let owners = owners(org: i)
        for provider in Self.providers { add(owners[0], provider) }
        for provider in Self.providers[0..<2] { add(owners[1], provider) }
        for p in 0..<2 {
            for provider in [Self.providers[2 + p], Self.providers[4 + p]] { add(owners[2 + p], provider) }
        }
        for (g, agent) in owners[4...].enumerated() {
            for (k, provider) in Self.providers.enumerated() where k != g % Self.providers.count { add(agent, provider) }
        }
        return out
    }

    private static func owner(_ kind: OwnerRef.Kind, _ segments: [String]) -> OwnerRef {
        try! OwnerRef(kind: kind, segments: segments)
    }
}
