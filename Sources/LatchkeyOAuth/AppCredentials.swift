/// The OAuth client a flow runs as: the app registered for the owner (or inherited).
public struct AppCredentials: Sendable {
    public var clientID: String
    /// The client secret, opened from the vault just for this call. Never logged.
    public var clientSecret: String?
    public init(clientID: String, clientSecret: String?) {
        self.clientID = clientID
        self.clientSecret = clientSecret
    }
}

extension AppCredentials: CustomStringConvertible {
    public var description: String { "AppCredentials(client_id: \(clientID), secret: redacted)" }
}
