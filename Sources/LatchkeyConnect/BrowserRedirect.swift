/// Where to send a browser to start a flow at a provider, and the cookie that binds the flow to that browser.
public struct BrowserRedirect: Sendable {
    /// The provider's authorization URL, with `state` and (for connect flows) PKCE.
    public var location: String
    /// One cookie per flow, so two flows in one browser do not clobber each other.
    public var bindingCookieName: String
    /// The cookie's value; only its hash is stored.
    public var bindingNonce: String

    public init(location: String, bindingCookieName: String, bindingNonce: String) {
        self.location = location
        self.bindingCookieName = bindingCookieName
        self.bindingNonce = bindingNonce
    }
}
