import Foundation

/// The two session tables of the SQL engines: dashboard sessions (``AdminSessionStore``) and people's sessions at
/// `/me` (``PersonSessionStore``). Each is keyed by a hash of the session id and holds at most one sealed message.
public enum SessionTable: String, Sendable {
    case admin = "admin_sessions"
    case person = "person_sessions"
}

/// An engine that keeps both kinds of session in tables of one shape, and so writes the operations they share once,
/// for a ``SessionTable``; the roles' methods that are the same for both kinds come from this protocol's extension.
///
/// Contract: as ``AdminSessionStore`` and ``PersonSessionStore`` say for the same operation, on the table given.
public protocol SessionTables: Sendable {
    /// Removes the session (sign-out); a missing one is no error.
    func deleteSession(_ table: SessionTable, idHash: String) async throws
    /// Leaves a sealed message for the session's next page, replacing any waiting one; dropped for a missing session.
    func setSessionMessage(_ table: SessionTable, idHash: String, sealed: [UInt8]) async throws
    /// The waiting sealed message, cleared in the same step: of concurrent takers, one gets it.
    func takeSessionMessage(_ table: SessionTable, idHash: String) async throws -> [UInt8]?
}

extension SessionTables {
    /// ``AdminSessionStore/deleteAdminSession(idHash:)`` on the dashboard's table.
    public func deleteAdminSession(idHash: String) async throws {
        try await deleteSession(.admin, idHash: idHash)
    }

    /// ``AdminSessionStore/setAdminSessionMessage(idHash:sealed:)`` on the dashboard's table.
    public func setAdminSessionMessage(idHash: String, sealed: [UInt8]) async throws {
        try await setSessionMessage(.admin, idHash: idHash, sealed: sealed)
    }

    /// ``AdminSessionStore/takeAdminSessionMessage(idHash:)`` on the dashboard's table.
    public func takeAdminSessionMessage(idHash: String) async throws -> [UInt8]? {
        try await takeSessionMessage(.admin, idHash: idHash)
    }

    /// ``PersonSessionStore/deletePersonSession(idHash:)`` on the people's table.
    public func deletePersonSession(idHash: String) async throws {
        try await deleteSession(.person, idHash: idHash)
    }

    /// ``PersonSessionStore/setPersonSessionMessage(idHash:sealed:)`` on the people's table.
    public func setPersonSessionMessage(idHash: String, sealed: [UInt8]) async throws {
        try await setSessionMessage(.person, idHash: idHash, sealed: sealed)
    }

    /// ``PersonSessionStore/takePersonSessionMessage(idHash:)`` on the people's table.
    public func takePersonSessionMessage(idHash: String) async throws -> [UInt8]? {
        try await takeSessionMessage(.person, idHash: idHash)
    }
}
