/// Who is calling: the admin, one agent, or a person signed in at `/me` (acting only for themselves).
public enum Caller: Sendable, Hashable {
    case admin
    /// An agent; `scope` holds it to a narrowed key's grants when it called with one. `keyHash` is the SHA-256 of
    /// the key it called with (its own or a narrowed one), when a key authenticated it.
    case agent(OwnerRef, scope: KeyScope? = nil, keyHash: String? = nil)
    case person(OwnerRef)

    /// The audit actor name.
    public var actorName: String {
        switch self {
        case .admin: "admin"
        case .agent(let ref, _, _), .person(let ref): ref.description
        }
    }

    /// The narrowed key's scope, when an agent called with one.
    public var keyScope: KeyScope? {
        if case .agent(_, let scope, _) = self { scope } else { nil }
    }

    /// The SHA-256 of the key an agent called with, when a key authenticated it.
    public var keyHash: String? {
        if case .agent(_, let scope, let hash) = self { hash ?? scope?.keyHash } else { nil }
    }
}
