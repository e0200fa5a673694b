/// Agent API keys, the agent's own and narrowed ones alike: `lk_agent_` and 32 random bytes in base64url. Shown
/// once; stored as SHA-256.
public enum AgentKey {
    public static let prefix = "lk_agent_"
    public static func generate() -> String { prefix + RandomToken.base64URL(bytes: 32) }
}
