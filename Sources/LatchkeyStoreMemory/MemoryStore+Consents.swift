import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: ConsentStore {
    public func grantConsent(_ consent: Consent) async throws {
        locked { $0.consents[consent.connectionID, default: [:]][consent.grantee] = consent }
    }

    public func withdrawConsent(connectionID: ConnectionID, grantee: OwnerRef) async throws -> Bool {
        locked { $0.consents[connectionID]?.removeValue(forKey: grantee) != nil }
    }

    public func consents(person: OwnerRef) async throws -> [Consent] {
        locked { state in
            // Newest first, then by connection and grantee.
            state.consents.values.flatMap(\.values).filter { $0.person == person }.sorted {
                $0.grantedAt != $1.grantedAt
                    ? $0.grantedAt > $1.grantedAt
                    : (ByteOrder($0.connectionID.rawValue), ByteOrder($0.grantee.description))
                        < (ByteOrder($1.connectionID.rawValue), ByteOrder($1.grantee.description))
            }
        }
    }

    public func liveConsent(connectionID: ConnectionID, grantees: [OwnerRef], now: Date) async throws -> Consent? {
        // Of several, the one held by the grantee named first (an agent before its project).
        locked { state in
            let held = state.consents[connectionID] ?? [:]
            return grantees.lazy.compactMap { held[$0] }.first { $0.isLive(at: now) }
        }
    }
}
