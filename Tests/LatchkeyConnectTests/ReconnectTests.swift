import Foundation
import LatchkeyConnect
import LatchkeyModel
import LatchkeyRuntime
import LatchkeyStore
import LatchkeyTestSupport
import Testing

/// Reconnect links: they keep the connection and the account it acts as, and never revive what was revoked.
@Suite struct ReconnectTests {
    /// `org:acme`'s connection made with alice's account, and a reconnect link for it.
    struct Connected {
        let h: ConnectionHarness
        let flow: ConnectFlow
        let person: PersonAtTheProvider
        let connection: Connection

        init() async throws {
            h = try await ConnectionHarness([])
            flow = h.connectFlow()
            person = PersonAtTheProvider(flow: flow, provider: h.provider)
            let link = try await flow.createSession(
                provider: try h.catalog.manifest("acme"), owner: h.org, reconnect: nil, extraScopes: [], returnTo: nil, caller: .admin)
            connection = try await person.connect(link.url, as: PersonAtTheProvider.alice).connection
        }

        func reconnectLink() async throws -> String {
            try await flow.createSession(
                provider: try h.catalog.manifest("acme"), owner: h.org, reconnect: connection.id.rawValue, extraScopes: [], returnTo: nil,
                caller: .admin
            ).url
        }
    }

    @Test func aReconnectKeepsTheConnectionAndReplacesItsGrant() async throws {
        let c = try await Connected()
        let before = try await c.h.vault.openCredential(try await c.h.stored(c.connection.id).sealedCredential!, for: c.connection)

        let outcome = try await c.person.connect(try await c.reconnectLink(), as: PersonAtTheProvider.alice)

        #expect(outcome.connection.id == c.connection.id)
        #expect(outcome.connection.account?.id == "u-alice")
        let stored = try await c.h.stored(c.connection.id)
        let after = try await c.h.vault.openCredential(stored.sealedCredential!, for: stored.connection)
        #expect(after.accessToken != before.accessToken)
        // The grant it replaced is revoked at the provider.
        #expect(Set(c.h.provider.revokedTokens) == Set([before.refreshToken, before.accessToken].compactMap { $0 }))
        #expect(try await c.h.auditActions().contains("connection.reconnected"))
    }

    @Test func aReconnectFinishedWithAnotherAccountIsRefusedAndTheLinkStaysUsable() async throws {
        let c = try await Connected()
        let link = try await c.reconnectLink()
        let before = try await c.h.stored(c.connection.id)

        #expect(await errorCode { _ = try await c.person.connect(link, as: PersonAtTheProvider.mallory) } == .accountMismatch)

        let after = try await c.h.stored(c.connection.id)
        #expect(after.connection == before.connection)
        #expect(after.sealedCredential == before.sealedCredential)
        // Mallory's grant, made for nothing, is revoked; alice's is untouched.
        #expect(c.h.provider.revokedTokens.allSatisfy { $0.contains("u-mallory") })
        #expect(!c.h.provider.revokedTokens.isEmpty)
        #expect(try await c.h.auditActions().contains("connection.account_mismatch"))
        // The right person can still use the link.
        let outcome = try await c.person.connect(link, as: PersonAtTheProvider.alice)
        #expect(outcome.connection.id == c.connection.id)
    }

    @Test func aReconnectLinkCannotReviveARemovedConnection() async throws {
        let c = try await Connected()
        let unopened = try await c.reconnectLink()
        let redirect = try await c.person.open(try await c.reconnectLink())

        _ = try await c.h.connectionService().remove(try await c.h.stored(c.connection.id), actor: .admin)

        #expect(await errorCode { _ = try await c.flow.liveSession(token: PersonAtTheProvider.token(unopened)) } == .sessionRevoked)
        #expect(await errorCode { _ = try await c.person.finish(redirect, as: PersonAtTheProvider.alice) } == .sessionRevoked)
        let stored = try await c.h.stored(c.connection.id)
        #expect(stored.connection.state == .revoked)
        #expect(stored.sealedCredential == nil)
    }

    @Test func aReconnectLinkNamesOnlyAConnectionOfItsOwnerAndProvider() async throws {
        let c = try await Connected()
        let team = try OwnerRef(parsing: "team:acme/growth")
        try await c.h.store.createOwner(team, at: c.h.clock.now)
        #expect(await errorCode {
            _ = try await c.flow.createSession(
                provider: try c.h.catalog.manifest("acme"), owner: team, reconnect: c.connection.id.rawValue, extraScopes: [], returnTo: nil,
                caller: .admin)
        } == .notFound)
    }

    @Test func anAgentsReconnectLinkIsReusedWhileFreshButAPersonsConnectionGetsNone() async throws {
        let c = try await Connected()
        let first = try #require(await c.flow.reconnectLink(for: c.connection, caller: .admin))
        let again = try #require(await c.flow.reconnectLink(for: c.connection, caller: .admin))
        #expect(first.url == again.url)

        let carol = try OwnerRef(parsing: "user:acme/carol")
        try await c.h.store.createOwner(carol, at: c.h.clock.now)
        var personal = c.connection
        personal.owner = carol
        let agent = try await createAgent("scout", in: c.h)
        #expect(await c.flow.reconnectLink(for: personal, caller: .agent(agent)) == nil)
    }
}
