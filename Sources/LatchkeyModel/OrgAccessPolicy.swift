/// How open an organization is to its agents: whether read tools and the proxy need a grant.
///
/// `open` is the default, as before grants existed: any agent reaches every read tool and the whole provider API
/// through its connections. Under `granted`, a call that no grant covers is refused with `not_granted`. Write tools
/// need a grant under either.
public struct OrgAccessPolicy: Sendable, Hashable, Codable {
    /// Whether a kind of call needs a grant.
    public enum Openness: String, Sendable, Hashable, Codable, CaseIterable {
        case open
        case granted
    }

    public var readTools: Openness
    public var proxy: Openness

    public init(readTools: Openness = .open, proxy: Openness = .open) {
        self.readTools = readTools
        self.proxy = proxy
    }

    /// What an org that never set a policy gets.
    public static let open = OrgAccessPolicy()

    enum CodingKeys: String, CodingKey {
        case readTools = "read_tools"
        case proxy
    }
}
