import Foundation
import LatchkeyModel

/// What Latchkey knows of a person (a `user:` owner) to sign them in: the email an admin registered and the OpenID
/// Connect subject recorded at their first sign-in.
public struct PersonRecord: Sendable, Equatable {
    public var person: OwnerRef
    /// Lowercased; unique within the org.
    public var email: String?
    /// The issuer and `sub` of the first OpenID Connect sign-in; unique together within the org.
    public var issuer: String?
    public var subject: String?

    public init(person: OwnerRef, email: String?, issuer: String? = nil, subject: String? = nil) {
        self.person = person
        self.email = email
        self.issuer = issuer
        self.subject = subject
    }
}

/// An org's OpenID Connect identity provider, through which its people sign in at `/me`.
public struct SignInProvider: Sendable, Equatable {
    public var org: String
    public var issuer: String
    public var clientID: String
    /// The client secret, sealed under the org's data key; nil for a public client.
    public var sealedClientSecret: [UInt8]?
    public var updatedAt: Date

    public init(org: String, issuer: String, clientID: String, sealedClientSecret: [UInt8]?, updatedAt: Date) {
        self.org = org
        self.issuer = issuer
        self.clientID = clientID
        self.sealedClientSecret = sealedClientSecret
        self.updatedAt = updatedAt
    }
}

/// An OpenID Connect sign-in in flight, keyed by the hash of its `state`.
public struct SignInState: Sendable, Equatable {
    public var stateHash: String
    public var org: String
    /// SHA-256 of the `nonce` sent in the authentication request; the ID token must carry the same nonce.
    public var nonceHash: String
    /// The PKCE verifier, sealed under the org's data key and bound to this state.
    public var sealedVerifier: [UInt8]
    /// SHA-256 of the browser-binding nonce set as a cookie when the sign-in started.
    public var browserBindingHash: String
    /// A local path to go to once signed in (`/me`, a connect link, a consent page).
    public var next: String
    public var createdAt: Date
    public var expiresAt: Date

    public init(
        stateHash: String, org: String, nonceHash: String, sealedVerifier: [UInt8], browserBindingHash: String, next: String,
        createdAt: Date, expiresAt: Date
    ) {
        self.stateHash = stateHash
        self.org = org
        self.nonceHash = nonceHash
        self.sealedVerifier = sealedVerifier
        self.browserBindingHash = browserBindingHash
        self.next = next
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// What using a sign-in link found.
public enum SignInLinkUse: Sendable, Equatable {
    /// The link was good: it is now used, and signs in this person.
    case person(OwnerRef)
    case alreadyUsed
    case expired
    case unknown
}

/// People and how they sign in: registered emails, recorded OpenID subjects, each org's identity provider, single-use
/// sign-in links, and sign-ins in flight.
///
/// Contract:
/// - `setPerson` creates or replaces the person's email; it fails with `conflict` when another person of the org has
///   that email, and `not_found` when the user owner does not exist.
/// - `recordSubject` sets issuer and subject once: it returns false, changing nothing, when the person already has a
///   subject, or when another person of the same org holds this issuer and subject (one account at an identity provider
///   may be a person in several orgs), or when the person has no record yet (`setPerson`
///   was never called for them).
/// - Sign-in links and states are stored only by hash. `useSignInLink` succeeds once per link, and only before it
///   expires: of concurrent callers, one gets the person.
/// - `consumeSignInState` removes and returns the state atomically; `signInState` reads it without spending it.
public protocol PersonStore: Sendable {
    func setPerson(_ person: OwnerRef, email: String?) async throws
    func person(_ person: OwnerRef) async throws -> PersonRecord?
    /// The person of `org` registered with this (lowercased) email.
    func person(org: String, email: String) async throws -> PersonRecord?
    /// The person of `org` whose first sign-in recorded this issuer and subject.
    func person(org: String, issuer: String, subject: String) async throws -> PersonRecord?
    func recordSubject(_ person: OwnerRef, issuer: String, subject: String) async throws -> Bool

    func putSignInProvider(_ provider: SignInProvider) async throws
    func signInProvider(org: String) async throws -> SignInProvider?

    func createSignInLink(tokenHash: String, person: OwnerRef, createdAt: Date, expiresAt: Date) async throws
    /// Marks the link used and returns its person when it exists, is unused and has not expired at `at`; otherwise
    /// says why not, changing nothing.
    func useSignInLink(tokenHash: String, at: Date) async throws -> SignInLinkUse

    func createSignInState(_ state: SignInState) async throws
    func signInState(hash: String) async throws -> SignInState?
    func consumeSignInState(hash: String) async throws -> SignInState?
}

/// Signed-in people's sessions at `/me`, shared by every replica.
///
/// Contract (as `AdminSessionStore`): only a hash of each session id is stored; `createPersonSession` deletes expired
/// sessions on the way; `personSession` finds a live session until it expires or is ended on any replica;
/// `endPersonSessions` ends every session of a person (their owner was revoked); messages are taken once.
public protocol PersonSessionStore: Sendable {
    func createPersonSession(idHash: String, person: OwnerRef, expiresAt: Date, now: Date) async throws
    /// The person and expiry of the live session with this id hash; nil when there is none.
    func personSession(idHash: String, now: Date) async throws -> (person: OwnerRef, expiresAt: Date)?
    func deletePersonSession(idHash: String) async throws
    /// Ends every session of `person`, or of every person under `owner` when it is an org. Returns how many ended.
    func endPersonSessions(under owner: OwnerRef) async throws -> Int
    func setPersonSessionMessage(idHash: String, sealed: [UInt8]) async throws
    func takePersonSessionMessage(idHash: String) async throws -> [UInt8]?
}

/// A person's permission for an agent, or for every agent of a project, to use one of their connections.
public struct Consent: Sendable, Equatable {
    public var connectionID: ConnectionID
    /// An `agent:` or `project:` owner.
    public var grantee: OwnerRef
    /// The person who granted it: the connection's owner.
    public var person: OwnerRef
    public var grantedAt: Date
    /// Nil for "until withdrawn".
    public var expiresAt: Date?

    public init(connectionID: ConnectionID, grantee: OwnerRef, person: OwnerRef, grantedAt: Date, expiresAt: Date?) {
        self.connectionID = connectionID
        self.grantee = grantee
        self.person = person
        self.grantedAt = grantedAt
        self.expiresAt = expiresAt
    }

    /// Whether it still holds at `now`.
    public func isLive(at now: Date) -> Bool { expiresAt.map { $0 > now } ?? true }
}

/// Consents for personal connections.
///
/// Contract:
/// - `grantConsent` creates or replaces the consent for (connection, grantee).
/// - `withdrawConsent` removes it and returns whether there was one.
/// - `liveConsent` returns a consent for the connection held by any of `grantees` that has not expired at `now`.
public protocol ConsentStore: Sendable {
    func grantConsent(_ consent: Consent) async throws
    func withdrawConsent(connectionID: ConnectionID, grantee: OwnerRef) async throws -> Bool
    /// Every consent the person gave, expired ones included, newest first.
    func consents(person: OwnerRef) async throws -> [Consent]
    func liveConsent(connectionID: ConnectionID, grantees: [OwnerRef], now: Date) async throws -> Consent?
}
