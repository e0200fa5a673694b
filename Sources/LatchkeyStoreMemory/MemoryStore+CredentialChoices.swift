import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: CredentialChoiceStore {
    public func putCredentialChoice(_ choice: CredentialChoice) async throws {
        locked { $0.credentialChoices[choice.org, default: [:]][choice.provider] = choice }
    }

    public func credentialChoice(org: String, provider: ProviderID) async throws -> CredentialChoice? {
        locked { $0.credentialChoices[org]?[provider] }
    }

    public func credentialChoices(org: String) async throws -> [CredentialChoice] {
        locked { state in
            (state.credentialChoices[org] ?? [:]).values.sorted { ByteOrder($0.provider.rawValue) < ByteOrder($1.provider.rawValue) }
        }
    }
}
