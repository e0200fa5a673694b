import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: MCPServerStore {
    public func addMCPServer(_ server: StoredMCPServer) async throws -> Bool {
        locked { state in
            guard state.mcpServers[server.id] == nil else { return false }
            state.mcpServers[server.id] = server
            return true
        }
    }

    public func mcpServers() async throws -> [StoredMCPServer] {
        locked { state in state.mcpServers.values.sorted { ByteOrder($0.id.rawValue) < ByteOrder($1.id.rawValue) } }
    }

    public func deleteMCPServer(id: ProviderID) async throws -> Bool {
        locked { state in state.mcpServers.removeValue(forKey: id) != nil }
    }
}
