import Foundation
import LatchkeyConnect
import LatchkeyCrypto
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyTestSupport
import Testing

/// The authorization-code flow from a connect link: the `state` that binds the callback to the link and the browser,
/// and PKCE S256 with the verifier sealed until the exchange.
@Suite struct AuthorizationCodeFlowTests {
    func link(_ h: ConnectionHarness, _ flow: ConnectFlow) async throws -> String {
        let manifest = try h.catalog.manifest("acme")
        return try await flow.createSession(provider: manifest, owner: h.org, reconnect: nil, extraScopes: [], returnTo: nil, caller: .admin).url
    }

    @Test func aLinkConnectsTheAccountThatFinishedTheFlow() async throws {
        let h = try await ConnectionHarness([])
        let flow = h.connectFlow()
        let person = PersonAtTheProvider(flow: flow, provider: h.provider)
        let link = try await link(h, flow)
        #expect(link.hasPrefix("https://lk.test/connect/cs_"))

        let outcome = try await person.connect(link, as: PersonAtTheProvider.alice)

        #expect(outcome.connection.state == .active)
        #expect(outcome.connection.account?.id == "u-alice")
        #expect(outcome.connection.owner == h.org)
        let stored = try await h.stored(outcome.connection.id)
        let credential = try await h.vault.openCredential(stored.sealedCredential!, for: stored.connection)
        #expect(credential.accessToken?.hasPrefix("at-u-alice-") == true)
        #expect(try await h.auditActions().contains("connection.connected"))
    }

    @Test func theBrowserIsSentWithStateAndAnS256Challenge() async throws {
        let h = try await ConnectionHarness([])
        let flow = h.connectFlow()
        let redirect = try await PersonAtTheProvider(flow: flow, provider: h.provider).open(try await link(h, flow))

        let state = try #require(PersonAtTheProvider.parameter("state", of: redirect.location))
        #expect(state.count == 43)  // 256 random bits, base64url
        #expect(PersonAtTheProvider.parameter("code_challenge_method", of: redirect.location) == "S256")
        #expect(PersonAtTheProvider.parameter("redirect_uri", of: redirect.location) == "https://lk.test/oauth/callback")
        // Only the state's hash is stored, and the verifier is stored sealed.
        let waiting = try #require(try await h.store.authorizationState(hash: SecretHash.sha256Hex(state)))
        #expect(waiting.sealedVerifier != nil)
        #expect(redirect.bindingCookieName == "lk_flow_" + SecretHash.sha256Hex(state).prefix(16))
    }

    @Test func theExchangeSendsTheVerifierOfTheChallenge() async throws {
        let h = try await ConnectionHarness([])
        let flow = h.connectFlow()
        let person = PersonAtTheProvider(flow: flow, provider: h.provider)
        let redirect = try await person.open(try await link(h, flow))
        _ = try await person.finish(redirect, as: PersonAtTheProvider.alice)

        let exchange = try #require(h.provider.codeExchanges.first)
        let verifier = try #require(exchange.verifier)
        #expect(PKCE.challenge(for: verifier) == PersonAtTheProvider.parameter("code_challenge", of: redirect.location))
        #expect(exchange.redirectURI == "https://lk.test/oauth/callback")
        // The verifier never appears in the authorization URL, only its challenge.
        #expect(!redirect.location.contains(verifier))
    }

    @Test func eachFlowHasItsOwnStateAndVerifier() async throws {
        let h = try await ConnectionHarness([])
        let flow = h.connectFlow()
        let person = PersonAtTheProvider(flow: flow, provider: h.provider)
        let first = try await person.open(try await link(h, flow))
        let second = try await person.open(try await link(h, flow))
        #expect(PersonAtTheProvider.parameter("state", of: first.location) != PersonAtTheProvider.parameter("state", of: second.location))
        #expect(
            PersonAtTheProvider.parameter("code_challenge", of: first.location)
                != PersonAtTheProvider.parameter("code_challenge", of: second.location))
        #expect(first.bindingCookieName != second.bindingCookieName)
    }

    @Test func aCallbackFromAnotherBrowserIsRefusedWithoutSpendingTheState() async throws {
        let h = try await ConnectionHarness([])
        let flow = h.connectFlow()
        let person = PersonAtTheProvider(flow: flow, provider: h.provider)
        let redirect = try await person.open(try await link(h, flow))
        let code = h.provider.authorize(redirect.location, as: PersonAtTheProvider.alice)

        #expect(await errorCode { _ = try await person.callback(redirect, code: code, cookie: "someone-elses-nonce") } == .invalidState)
        #expect(h.provider.codeExchanges.isEmpty)  // the code was never redeemed

        // The person's own browser can still finish.
        let outcome = try await person.callback(redirect, code: code)
        #expect(outcome.connection.account?.id == "u-alice")
    }

    @Test func aStateWorksOnce() async throws {
        let h = try await ConnectionHarness([])
        let flow = h.connectFlow()
        let person = PersonAtTheProvider(flow: flow, provider: h.provider)
        let redirect = try await person.open(try await link(h, flow))
        _ = try await person.finish(redirect, as: PersonAtTheProvider.alice)

        #expect(await errorCode { _ = try await person.finish(redirect, as: PersonAtTheProvider.mallory) } == .invalidState)
        #expect(h.provider.codeExchanges.count == 1)
    }

    @Test func anExpiredStateIsRefusedAndNothingIsStored() async throws {
        let h = try await ConnectionHarness([])
        let flow = h.connectFlow(ConnectSettings(publicURL: "https://lk.test", returnToAllowlist: [], linkTTL: 3600, stateTTL: 600))
        let person = PersonAtTheProvider(flow: flow, provider: h.provider)
        let redirect = try await person.open(try await link(h, flow))
        let before = try await h.store.connections(owners: [h.org], provider: nil)

        h.clock.advance(by: .seconds(600))

        #expect(await errorCode { _ = try await person.finish(redirect, as: PersonAtTheProvider.alice) } == .invalidState)
        #expect(h.provider.codeExchanges.isEmpty)
        #expect(try await h.store.connections(owners: [h.org], provider: nil) == before)
        // The expired state is spent: it cannot be tried again.
        let state = try #require(PersonAtTheProvider.parameter("state", of: redirect.location))
        #expect(try await h.store.authorizationState(hash: SecretHash.sha256Hex(state)) == nil)
    }

    @Test func aCodeTheProviderRefusesLeavesNothingStored() async throws {
        let h = try await ConnectionHarness([])
        let flow = h.connectFlow()
        let person = PersonAtTheProvider(flow: flow, provider: h.provider)
        let link = try await link(h, flow)
        let redirect = try await person.open(link)
        let before = try await h.store.connections(owners: [h.org], provider: nil)

        #expect(await errorCode { _ = try await person.callback(redirect, code: "a-code-nobody-issued") } != nil)

        #expect(try await h.store.connections(owners: [h.org], provider: nil) == before)
        #expect(try await h.auditActions().contains("connect.exchange_failed"))
        // The link was not spent: the person can start again.
        _ = try await person.connect(link, as: PersonAtTheProvider.alice)
    }
}
