import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: PendingFlowStore {
    public func createSession(_ session: ConnectSession) async throws {
        try locked { try $0.connectSessions.insertNew(session, for: session.tokenHash, "a connect session with this hash") }
    }

    public func session(tokenHash: String) async throws -> ConnectSession? {
        locked { $0.connectSessions[tokenHash] }
    }

    public func markSessionUsed(tokenHash: String, at: Date) async throws -> Bool {
        locked { state in
            guard let session = state.connectSessions[tokenHash], session.usedAt == nil else { return false }
            state.connectSessions[tokenHash]?.usedAt = at
            return true
        }
    }

    public func createState(_ authorization: AuthorizationState) async throws {
        try locked { try $0.authorizationStates.insertNew(authorization, for: authorization.stateHash, "an authorization state with this hash") }
    }

    public func authorizationState(hash: String) async throws -> AuthorizationState? {
        locked { $0.authorizationStates[hash] }
    }

    public func consumeState(hash: String) async throws -> AuthorizationState? {
        locked { $0.authorizationStates.removeValue(forKey: hash) }
    }

    public func purgeExpired(before: Date) async throws -> Int {
        locked { state in
            state.authorizationStates.removeAll { $0.expiresAt < before } + state.connectSessions.removeAll { $0.expiresAt < before }
                + state.signInStates.removeAll { $0.expiresAt < before } + state.signInLinks.removeAll { $0.expiresAt < before }
        }
    }
}
