/// A connection stays bound to the provider account it was made with.
///
/// A reconnect (a 424 link, an admin's `connection_id` link, a person's reconnect) may only renew the grant of the
/// same account: otherwise whoever finishes the link would swap the account that every agent on the chain acts as.
/// Accounts are compared by the provider's stable id, never by display name.
public enum AccountBinding {
    /// Passes when `finished` is the account `bound` names, or when either is unknown (a manifest without an identity
    /// lookup, which cannot be checked; `providers validate` warns about those). Otherwise `account_mismatch`, naming
    /// the expected account by its display name.
    public static func check(bound: AccountIdentity?, finished: AccountIdentity?) throws(LatchkeyError) {
        guard let bound, let finished, bound.id != finished.id else { return }
        throw LatchkeyError(
            .accountMismatch,
            "this connection belongs to the account \(bound.displayName); sign in to the provider as \(bound.displayName) and open the link again",
            field: "account")
    }
}

extension AccountIdentity {
    /// The name to show a person: the provider's display name, else its id.
    public var displayName: String { name ?? id }

    /// For the audit log: the id and the name, never anything secret.
    public var auditLabel: String { name.map { "\(id) (\($0))" } ?? id }
}
