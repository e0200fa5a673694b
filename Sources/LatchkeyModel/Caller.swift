/// Who is calling: the admin, one agent, or a person signed in at `/me` (acting only for themselves).
public enum Caller: Sendable, Equatable {
    case admin
    case agent(OwnerRef)
    case person(OwnerRef)

    /// The audit actor name.
    public var actorName: String {
        switch self {
        case .admin: "admin"
        case .agent(let ref), .person(let ref): ref.description
        }
    }
}
