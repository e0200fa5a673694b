/// Who is calling: the admin, one agent, or a person signed in at `/me` (acting only for themselves).
public enum Caller: Sendable, Hashable {
    case admin
    /// An agent; `scope` holds it to a narrowed key's grants when it called with one.
    case agent(OwnerRef, scope: KeyScope? = nil)
    case person(OwnerRef)

    /// The audit actor name.
    public var actorName: String {
        switch self {
        case .admin: "admin"
        case .agent(let ref, _), .person(let ref): ref.description
        }
    }

    /// The narrowed key's scope, when an agent called with one.
    public var keyScope: KeyScope? {
        if case .agent(_, let scope) = self { scope } else { nil }
    }
}
