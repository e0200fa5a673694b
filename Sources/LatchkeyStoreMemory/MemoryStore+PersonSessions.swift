import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: PersonSessionStore {
    public func createPersonSession(idHash: String, person: OwnerRef, expiresAt: Date, now: Date) async throws {
        try locked { try $0.personSessions.start(idHash: idHash, holder: person, expiresAt: expiresAt, now: now) }
    }

    public func personSession(idHash: String, now: Date) async throws -> (person: OwnerRef, expiresAt: Date)? {
        locked { state in state.personSessions.live(idHash: idHash, now: now).map { ($0.holder, $0.expiresAt) } }
    }

    public func deletePersonSession(idHash: String) async throws {
        locked { $0.personSessions.end(idHash: idHash) }
    }

    public func endPersonSessions(under owner: OwnerRef) async throws -> Int {
        // People sit directly under their org: a user ends their own sessions, an org everyone's, any other owner none.
        locked { state in
            switch owner.kind {
            case .user: state.personSessions.end { $0.holder == owner }
            case .org: state.personSessions.end { $0.holder.org == owner.org }
            case .team, .project, .agent, .platform: 0
            }
        }
    }

    public func setPersonSessionMessage(idHash: String, sealed: [UInt8]) async throws {
        locked { $0.personSessions.setMessage(idHash: idHash, sealed: sealed) }
    }

    public func takePersonSessionMessage(idHash: String) async throws -> [UInt8]? {
        locked { $0.personSessions.takeMessage(idHash: idHash) }
    }
}
