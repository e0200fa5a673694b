import Foundation
import LatchkeyConnect
import LatchkeyModel
import LatchkeyStore
import LatchkeyTestSupport

/// A person's browser going through a connect link: it opens the link, is sent to the provider, signs in there as an
/// account and comes back to the callback with the code, carrying the flow's binding cookie.
struct PersonAtTheProvider {
    let flow: ConnectFlow
    let provider: FakeProvider

    static let alice = FakeProvider.Account(id: "u-alice", name: "Alice")
    static let mallory = FakeProvider.Account(id: "u-mallory", name: "Mallory")

    /// Opens `link` and follows it to the provider's authorization URL.
    func open(_ link: String) async throws -> BrowserRedirect {
        let session = try await flow.liveSession(token: Self.token(link))
        return try await flow.begin(session: session, config: [:])
    }

    /// Signs in at the provider as `account` and returns to the callback; `cookie` overrides the binding cookie (nil
    /// sends the one the flow set).
    func finish(_ redirect: BrowserRedirect, as account: FakeProvider.Account, cookie: String? = nil) async throws -> ConnectFlow.Outcome {
        let code = provider.authorize(redirect.location, as: account)
        return try await callback(redirect, code: code, cookie: cookie)
    }

    /// Returns to the callback with `code` and the flow's `state`.
    func callback(_ redirect: BrowserRedirect, code: String, cookie: String? = nil) async throws -> ConnectFlow.Outcome {
        try await flow.complete(ConnectFlow.CallbackParameters(
            state: Self.parameter("state", of: redirect.location), code: code, error: nil, errorDescription: nil, issuer: nil,
            cookie: { $0 == redirect.bindingCookieName ? (cookie ?? redirect.bindingNonce) : nil }))
    }

    /// Runs the whole flow from `link` as `account`.
    func connect(_ link: String, as account: FakeProvider.Account) async throws -> ConnectFlow.Outcome {
        try await finish(try await open(link), as: account)
    }

    /// The link's token: the last path segment of `https://lk.test/connect/cs_…`.
    static func token(_ link: String) -> String { String(link.split(separator: "/").last ?? "") }

    static func parameter(_ name: String, of url: String) -> String? {
        URLComponents(string: url)?.queryItems?.first { $0.name == name }?.value
    }
}

/// The stable code of the `LatchkeyError` that `body` throws, or nil when it does not throw one.
func errorCode(_ body: () async throws -> Void) async -> LatchkeyError.Code? {
    do {
        try await body()
        return nil
    } catch let error as LatchkeyError {
        return error.code
    } catch {
        return nil
    }
}

/// Creates `agent:acme/growth/crm/<name>` and the team and project above it.
func createAgent(_ name: String, in h: ConnectionHarness) async throws -> OwnerRef {
    for ref in ["team:acme/growth", "project:acme/growth/crm"] {
        let owner = try OwnerRef(parsing: ref)
        if try await !h.store.ownerExists(owner) { try await h.store.createOwner(owner, at: h.clock.now) }
    }
    let agent = try OwnerRef(parsing: "agent:acme/growth/crm/\(name)")
    try await h.store.createOwner(agent, at: h.clock.now)
    return agent
}

/// Creates `team:acme/growth`.
func createTeam(in h: ConnectionHarness) async throws -> OwnerRef {
    let team = try OwnerRef(parsing: "team:acme/growth")
    try await h.store.createOwner(team, at: h.clock.now)
    return team
}
