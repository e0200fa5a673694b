import Foundation
import Hummingbird
import LatchkeyCrypto
import LatchkeyModel
import LatchkeyOAuth

/// Reading a dashboard form and checking its CSRF token.
enum DashboardForm {
    static let csrfMessage = "The form's security token is missing or out of date. Reload the page and try again."

    /// The URL-encoded form body (at most 64 KiB).
    static func read(_ request: Request) async throws -> [String: String] {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: 64 * 1024) } catch {
            throw LatchkeyError(.invalidRequest, "the form is too large")
        }
        var form: [String: String] = [:]
        for (k, v) in FormEncoding.decode(Substring(String(buffer: buffer))) { form[k] = v }
        return form
    }

    /// Whether the form's `csrf` equals the session's token, compared in constant time.
    static func csrfMatches(_ form: [String: String], _ session: AdminSession) -> Bool {
        csrfMatches(form, token: session.csrfToken)
    }

    /// Whether the form's `csrf` equals `token` (a session's), compared in constant time.
    static func csrfMatches(_ form: [String: String], token: String) -> Bool {
        guard let sent = form["csrf"], !sent.isEmpty else { return false }
        return SecretHash.constantTimeEquals(SecretHash.sha256Hex(sent), SecretHash.sha256Hex(token))
    }

    /// A non-empty, trimmed field, or nil.
    static func field(_ form: [String: String], _ name: String) -> String? {
        guard let value = form[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }
}
