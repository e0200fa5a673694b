import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore {
    /// A single-use sign-in link, by token hash.
    struct SignInLinkRow: Sendable {
        var person: OwnerRef
        var createdAt: Date
        var expiresAt: Date
        var usedAt: Date?
    }
}

extension MemoryStore.State {
    /// The first person of `org` that `matches`.
    func person(org: String, where matches: (PersonRecord) -> Bool) -> PersonRecord? {
        people.values.first { $0.person.org == org && matches($0) }
    }
}

extension MemoryStore: PersonStore {
    public func setPerson(_ person: OwnerRef, email: String?) async throws {
        let email = email?.lowercased()
        try locked { state in
            guard person.kind == .user, state.owners[person] != nil else {
                throw LatchkeyError(.notFound, "\(person) does not exist", field: "person")
            }
            if let email, state.person(org: person.org, where: { $0.email == email && $0.person != person }) != nil {
                throw LatchkeyError(.conflict, "another person of \(person.org) has this email", field: "email")
            }
            state.people[person, default: PersonRecord(person: person, email: nil)].email = email
        }
    }

    public func person(_ person: OwnerRef) async throws -> PersonRecord? {
        locked { $0.people[person] }
    }

    public func person(org: String, email: String) async throws -> PersonRecord? {
        let email = email.lowercased()
        return locked { state in state.person(org: org) { $0.email == email } }
    }

    public func person(org: String, issuer: String, subject: String) async throws -> PersonRecord? {
        locked { state in state.person(org: org) { $0.issuer == issuer && $0.subject == subject } }
    }

    public func recordSubject(_ person: OwnerRef, issuer: String, subject: String) async throws -> Bool {
        locked { state in
            guard let record = state.people[person], record.subject == nil,
                state.person(org: person.org, where: { $0.issuer == issuer && $0.subject == subject }) == nil
            else { return false }
            state.people[person]?.issuer = issuer
            state.people[person]?.subject = subject
            return true
        }
    }

    public func putSignInProvider(_ provider: SignInProvider) async throws {
        locked { $0.signInProviders[provider.org] = provider }
    }

    public func signInProvider(org: String) async throws -> SignInProvider? {
        locked { $0.signInProviders[org] }
    }

    public func createSignInLink(tokenHash: String, person: OwnerRef, createdAt: Date, expiresAt: Date) async throws {
        try locked { state in
            try state.requireOwner(person)
            try state.signInLinks.insertNew(
                SignInLinkRow(person: person, createdAt: createdAt, expiresAt: expiresAt), for: tokenHash, "a sign-in link with this hash")
        }
    }

    public func useSignInLink(tokenHash: String, at: Date) async throws -> SignInLinkUse {
        locked { state in
            guard let link = state.signInLinks[tokenHash] else { return .unknown }
            guard link.usedAt == nil else { return .alreadyUsed }
            guard link.expiresAt > at else { return .expired }
            state.signInLinks[tokenHash]?.usedAt = at
            return .person(link.person)
        }
    }

    public func createSignInState(_ signIn: SignInState) async throws {
        try locked { try $0.signInStates.insertNew(signIn, for: signIn.stateHash, "a sign-in state with this hash") }
    }

    public func signInState(hash: String) async throws -> SignInState? {
        locked { $0.signInStates[hash] }
    }

    public func consumeSignInState(hash: String) async throws -> SignInState? {
        locked { $0.signInStates.removeValue(forKey: hash) }
    }
}
