import LatchkeyRuntime
import Logging
import ServiceLifecycle

/// Brings the servers other replicas added or removed into this process's catalog every `interval`.
public struct MCPServerSync: Service {
    let directory: MCPServerDirectory
    let interval: Duration
    let clock: any LatchkeyClock
    let logger: Logger

    public init(directory: MCPServerDirectory, interval: Duration, clock: any LatchkeyClock, logger: Logger) {
        self.directory = directory
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do { try await directory.sync() } catch {
                logger.warning("admin-added MCP servers could not be read; the catalog keeps what it had", metadata: ["error": "\(type(of: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await clock.sleep(for: interval) }
        }
    }
}
