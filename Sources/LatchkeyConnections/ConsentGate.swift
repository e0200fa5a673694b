import Foundation
import LatchkeyModel
import LatchkeyOAuth
import LatchkeyRuntime
import LatchkeyStore

/// A person's say at the moment of use: an agent uses a `user:` connection only while that person has granted it (or
/// its project) use of that connection and the grant has not expired. Grants come only from the person's own
/// signed-in session (see the `/me` console); this gate only reads them.
public struct ConsentGate: Sendable {
    let store: any ConsentStore
    let clock: any LatchkeyClock
    /// Where people reach Latchkey, without a trailing slash: the consent page's origin.
    let publicURL: String

    public init(store: any ConsentStore, clock: any LatchkeyClock, publicURL: String) {
        self.store = store
        self.clock = clock
        self.publicURL = publicURL
    }

    /// Passes when `connection` is not a person's, or when its person granted `agent` or the agent's project use of
    /// it and the grant has not expired; otherwise 403 `consent_required` with a `consent_url` for the person.
    /// Returns when the consent that lets it pass runs out (nil: it does not, or none is needed).
    @discardableResult
    public func require(agent: OwnerRef, for connection: Connection) async throws -> Date? {
        guard connection.owner.kind == .user else { return nil }
        let grantees = [agent] + (agent.parent.map { [$0] } ?? [])
        if let live = try await store.liveConsent(connectionID: connection.id, grantees: grantees, now: clock.now) { return live.expiresAt }
        var error = LatchkeyError(
            .consentRequired,
            "\(connection.owner) has not allowed \(agent) to use their \(connection.provider) connection; pass consent_url to them",
            field: "Latchkey-User")
        error.consentURL = consentURL(agent: agent, connection: connection.id)
        throw error
    }

    /// The page where the person sees which agent asks for which connection, and approves or declines.
    public func consentURL(agent: OwnerRef, connection: ConnectionID) -> String {
        publicURL + "/me/consent?" + FormEncoding.encode([("agent", agent.description), ("connection", connection.rawValue)])
    }
}
