import LatchkeyModel

/// How far a long tool call has got, as a server reported it in `notifications/progress`.
public struct ToolProgress: Sendable, Equatable {
    /// The work done so far; it only grows.
    public var progress: Double
    /// The whole work, when the server knows it.
    public var total: Double?
    /// What the server is doing now, in its words.
    public var message: String?

    public init(progress: Double, total: Double? = nil, message: String? = nil) {
        self.progress = progress
        self.total = total
        self.message = message
    }

    /// The progress token and the progress of a `notifications/progress` message; nil for any other message or a
    /// malformed one.
    public static func reported(in message: JSONValue) -> (token: JSONValue, progress: ToolProgress)? {
        guard let object = message.objectValue, object["method"]?.stringValue == "notifications/progress",
            let params = object["params"]?.objectValue, let token = params["progressToken"],
            let progress = params["progress"]?.numberValue, progress.isFinite
        else { return nil }
        let total = params["total"]?.numberValue.flatMap { $0.isFinite ? $0 : nil }
        // A message is for a person's eyes; a server's essay is cut short.
        let text = params["message"]?.stringValue.map { String($0.prefix(500)) }
        return (token, ToolProgress(progress: progress, total: total, message: text))
    }
}
