import LatchkeyManifest
import LatchkeyModel

/// What one call costs, and whose pool pays. Metering follows the credential: a call on a managed credential (the
/// platform's) draws the manifest's price from the calling agent's org; a call on an org's own credential draws nothing.
struct CreditCharge: Sendable, Equatable {
    var org: String
    var credits: Int

    /// The charge of a call on `connection` by `caller`, or nil when it is free.
    static func of(_ manifest: ProviderManifest, connection: Connection, caller: Caller) -> CreditCharge? {
        guard case .metered(let credits) = manifest.pricing, connection.isManaged else { return nil }
        let org = payer(connection: connection, caller: caller)
        // The admin calling the platform's key itself draws from nobody's pool.
        guard !org.isEmpty else { return nil }
        return CreditCharge(org: org, credits: credits)
    }

    /// The org a call on `connection` counts against: the calling agent's (or person's), else the connection owner's
    /// (empty for the admin on the platform's key).
    static func payer(connection: Connection, caller: Caller) -> String {
        switch caller {
        case .agent(let agent, _, _): agent.org
        case .person(let person): person.org
        case .admin: connection.owner.org
        }
    }
}
