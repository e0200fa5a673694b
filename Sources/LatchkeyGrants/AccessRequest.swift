import LatchkeyModel

/// A call an agent makes, as grants judge it: a tool or a proxied method and path, at a provider, on a connection.
public struct AccessRequest: Hashable, Sendable {
    /// What is called.
    public enum Kind: Hashable, Sendable {
        /// The tool `name` of the provider.
        case tool(name: String)
        /// A proxied call: `method` and the path as the proxy's guard accepted it (percent-encoded, no leading slash).
        case proxy(method: String, path: String)
    }

    public var provider: ProviderID
    public var kind: Kind
    /// The connection the call would use.
    public var connection: ConnectionID

    public init(provider: ProviderID, kind: Kind, connection: ConnectionID) {
        self.provider = provider
        self.kind = kind
        self.connection = connection
    }

    /// What is missing when no grant covers the call, for the `not_granted` message: the provider and the tool, or
    /// the provider, method and path.
    public var summary: String {
        switch kind {
        case .tool(let name): "\(provider).\(name)"
        case .proxy(let method, let path): "\(method.uppercased()) \(provider) /\(path)"
        }
    }
}
