import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: MCPClientStore {
    public func mcpClient(provider: ProviderID, org: String) async throws -> StoredMCPClient? {
        locked { state in state.mcpClients[StoredMCPClient.rowID(provider: provider, org: org)] }
    }

    public func saveMCPClient(_ client: StoredMCPClient, replacing: String?) async throws -> Bool {
        locked { state in
            let key = StoredMCPClient.rowID(provider: client.provider, org: client.org)
            guard state.mcpClients[key]?.clientID == replacing else { return false }
            state.mcpClients[key] = client
            return true
        }
    }

    public func deleteMCPClients(provider: ProviderID) async throws -> Int {
        locked { state in
            let gone = state.mcpClients.filter { $0.value.provider == provider }.map(\.key)
            for key in gone { state.mcpClients.removeValue(forKey: key) }
            return gone.count
        }
    }
}
