import Foundation
import LatchkeyCrypto

/// The message a signed-in session (the dashboard's or a person's) leaves for its next page, sealed under a key that
/// only the session id yields: the store that keeps it cannot read it.
enum SessionFlash {
    static func seal(_ flash: AdminSession.Flash, sessionID: String) throws -> [UInt8] {
        try SessionSecrets(sessionID: sessionID).seal(Array(try JSONEncoder().encode(flash)))
    }

    /// The message, or nil when there is none or it does not open under this session id.
    static func open(_ sealed: [UInt8]?, sessionID: String) -> AdminSession.Flash? {
        guard let sealed, let plaintext = try? SessionSecrets(sessionID: sessionID).open(sealed) else { return nil }
        return try? JSONDecoder().decode(AdminSession.Flash.self, from: Data(plaintext))
    }
}
