import Foundation

/// Signed-in dashboard sessions, shared by every replica: a session started on one is live on all of them.
///
/// Only a hash of each session id is stored (the caller hashes), so the database cannot replay a cookie; the message
/// left for a session's next page is stored sealed by the caller, opaque here.
///
/// Contract:
/// - `createAdminSession` stores a session and, in the same transaction, deletes every session expired at `now`
///   and, when `capacity` live sessions are already stored, the ones closest to expiry, so at most `capacity` remain.
///   It fails with `conflict` when the hash is already stored.
/// - `adminSessionExpiry` finds a session until it expires (expiry > `now`); an expired one is deleted on the way.
/// - `deleteAdminSession` removes the session (sign-out); a missing one is no error.
/// - `takeAdminSessionMessage` returns the waiting message and clears it in one step: of concurrent takers, one
///   gets it. A message set on a missing session is dropped.
public protocol AdminSessionStore: Sendable {
    func createAdminSession(idHash: String, expiresAt: Date, now: Date, capacity: Int) async throws
    /// When the live session with this id hash expires; nil when there is no live one.
    func adminSessionExpiry(idHash: String, now: Date) async throws -> Date?
    func deleteAdminSession(idHash: String) async throws
    /// Leaves a sealed message for the session's next page, replacing any waiting one.
    func setAdminSessionMessage(idHash: String, sealed: [UInt8]) async throws
    /// The waiting sealed message, removed.
    func takeAdminSessionMessage(idHash: String) async throws -> [UInt8]?
}
