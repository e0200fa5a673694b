import LatchkeyModel

/// What a grant lets an agent call at one provider: some of its tools, or proxied calls with some methods to some
/// paths.
public enum Capability: Hashable, Sendable {
    /// The named tools of `provider` (names as in its manifest, without the provider).
    case tools(provider: ProviderID, names: Set<String>)
    /// Proxied calls to `provider` with one of `methods` (upper case) to a path one of `paths` matches.
    case proxy(provider: ProviderID, methods: Set<String>, paths: [PathPattern])

    /// The provider the capability is at.
    public var provider: ProviderID {
        switch self {
        case .tools(let provider, _), .proxy(let provider, _, _): provider
        }
    }

    /// Whether `request` is within this capability (the provider, then the tool, or the method and path).
    public func allows(_ request: AccessRequest) -> Bool {
        switch (self, request.kind) {
        case (.tools(let provider, let names), .tool(let name)):
            return provider == request.provider && names.contains(name)
        case (.proxy(let provider, let methods, let paths), .proxy(let method, let path)):
            return provider == request.provider && methods.contains(method.uppercased()) && paths.contains { $0.matches(path) }
        default:
            return false
        }
    }

    /// Whether everything `narrower` allows, this allows too: the same provider and kind; a subset of the tools, or a
    /// subset of the methods with each path pattern included in one of these.
    public func includes(_ narrower: Capability) -> Bool {
        switch (self, narrower) {
        case (.tools(let provider, let names), .tools(let other, let otherNames)):
            return provider == other && otherNames.isSubset(of: names)
        case (.proxy(let provider, let methods, let paths), .proxy(let other, let otherMethods, let otherPaths)):
            return provider == other && otherMethods.isSubset(of: methods)
                && otherPaths.allSatisfy { narrow in paths.contains { $0.includes(narrow) } }
        default:
            return false
        }
    }
}
