import Foundation
import LatchkeyConnect
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyTestSupport
import Testing

/// Connect links: single use, expiry, and death with what they were made for (the owner, the install).
@Suite struct ConnectLinkTests {
    func link(_ h: ConnectionHarness, _ flow: ConnectFlow, owner: OwnerRef? = nil, returnTo: String? = nil) async throws -> String {
        try await flow.createSession(
            provider: try h.catalog.manifest("acme"), owner: owner ?? h.org, reconnect: nil, extraScopes: [], returnTo: returnTo, caller: .admin
        ).url
    }

    @Test func aLinkLivesForItsTTL() async throws {
        let h = try await ConnectionHarness([])
        let flow = h.connectFlow(ConnectSettings(publicURL: "https://lk.test", returnToAllowlist: [], linkTTL: 900))
        let link = try await link(h, flow)

        h.clock.advance(by: .seconds(899))
        _ = try await flow.liveSession(token: PersonAtTheProvider.token(link))
        h.clock.advance(by: .seconds(1))
        #expect(await errorCode { _ = try await flow.liveSession(token: PersonAtTheProvider.token(link)) } == .sessionExpired)
    }

    @Test func aLinkThatExpiresWhileThePersonIsAtTheProviderCannotFinish() async throws {
        let h = try await ConnectionHarness([])
        let flow = h.connectFlow(ConnectSettings(publicURL: "https://lk.test", returnToAllowlist: [], linkTTL: 60, stateTTL: 600))
        let person = PersonAtTheProvider(flow: flow, provider: h.provider)
        let redirect = try await person.open(try await link(h, flow))

        h.clock.advance(by: .seconds(61))

        #expect(await errorCode { _ = try await person.finish(redirect, as: PersonAtTheProvider.alice) } == .sessionExpired)
        #expect(h.provider.codeExchanges.isEmpty)
    }

    @Test func aLinkWorksOnce() async throws {
        let h = try await ConnectionHarness([])
        let flow = h.connectFlow()
        let person = PersonAtTheProvider(flow: flow, provider: h.provider)
        let link = try await link(h, flow)
        // Two tabs open the same link; the first to come back wins.
        let first = try await person.open(link)
        let second = try await person.open(link)
        _ = try await person.finish(first, as: PersonAtTheProvider.alice)

        #expect(await errorCode { _ = try await flow.liveSession(token: PersonAtTheProvider.token(link)) } == .sessionUsed)
        #expect(await errorCode { _ = try await person.finish(second, as: PersonAtTheProvider.mallory) } == .sessionUsed)
        let accounts = try await h.store.connections(owners: [h.org], provider: nil).compactMap(\.account?.id)
        #expect(accounts == ["u-alice"])
    }

    @Test func anUnknownTokenIsNotFound() async throws {
        let h = try await ConnectionHarness([])
        let flow = h.connectFlow()
        #expect(await errorCode { _ = try await flow.liveSession(token: "cs_nothing-like-this") } == .notFound)
        #expect(await errorCode { _ = try await flow.liveSession(token: "not-even-a-link") } == .notFound)
    }

    @Test func revokingTheOwnerKillsItsLinksEvenMidFlow() async throws {
        let h = try await ConnectionHarness([])
        let agent = try await createAgent("scout", in: h)
        let flow = h.connectFlow()
        let person = PersonAtTheProvider(flow: flow, provider: h.provider)
        let unopened = try await link(h, flow, owner: agent)
        let redirect = try await person.open(try await link(h, flow, owner: agent))

        h.clock.advance(by: .seconds(1))
        _ = try await h.connectionService().revokeOwner(agent, actor: .admin)

        #expect(await errorCode { _ = try await flow.liveSession(token: PersonAtTheProvider.token(unopened)) } == .sessionRevoked)
        #expect(await errorCode { _ = try await person.finish(redirect, as: PersonAtTheProvider.alice) } == .sessionRevoked)
        #expect(try await h.store.connections(owners: [agent], provider: nil).isEmpty)
    }

    @Test func aLinkForAnInstallDiesWithTheInstall() async throws {
        let h = try await ConnectionHarness([])
        let team = try await createTeam(in: h)
        let connections = h.connectionService()
        let (installed, _) = try await connections.install(provider: try h.catalog.manifest("acme"), owner: team, actor: .admin)
        let flow = h.connectFlow()
        let link = try await link(h, flow, owner: team)

        _ = try await connections.remove(try await h.stored(installed.id), actor: .admin)

        #expect(await errorCode { _ = try await flow.liveSession(token: PersonAtTheProvider.token(link)) } == .sessionRevoked)
    }

    @Test func aLinkFinishesTheInstallItWasMadeFor() async throws {
        let h = try await ConnectionHarness([])
        let team = try await createTeam(in: h)
        let (installed, _) = try await h.connectionService().install(provider: try h.catalog.manifest("acme"), owner: team, actor: .admin)
        let flow = h.connectFlow()

        let outcome = try await PersonAtTheProvider(flow: flow, provider: h.provider).connect(
            try await link(h, flow, owner: team), as: PersonAtTheProvider.alice)

        #expect(outcome.connection.id == installed.id)
        #expect(try await h.stored(installed.id).connection.state == .active)
    }

    @Test func returnToMustBeOnTheAllowlist() async throws {
        let h = try await ConnectionHarness([])
        let flow = h.connectFlow()
        _ = try await link(h, flow, returnTo: "https://app.example.test/done")
        for url in [
            "https://evil.example.test/done", "https://app.example.test.evil.test/", "https://app.example.test@evil.test/",
            "https://app.example.test\\@evil.test/", "javascript:alert(1)", "/relative",
        ] {
            #expect(await errorCode { _ = try await link(h, flow, returnTo: url) } == .returnToNotAllowed, "\(url)")
        }
    }

    @Test func anAgentMayMakeLinksOnlyForItself() async throws {
        let h = try await ConnectionHarness([])
        let scout = try await createAgent("scout", in: h)
        let other = try await createAgent("other", in: h)
        let flow = h.connectFlow()
        let manifest = try h.catalog.manifest("acme")
        _ = try await flow.createSession(provider: manifest, owner: scout, reconnect: nil, extraScopes: [], returnTo: nil, caller: .agent(scout))
        #expect(await errorCode {
            _ = try await flow.createSession(provider: manifest, owner: other, reconnect: nil, extraScopes: [], returnTo: nil, caller: .agent(scout))
        } == .forbidden)
    }
}
