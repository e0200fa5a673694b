/// One problem in a manifest, printed as `file:line: field: message`.
public struct ManifestDiagnostic: Sendable, Equatable, CustomStringConvertible, Error {
    public var file: String
    public var line: Int
    /// The dotted path of the field at fault, such as `auth.token_url` or `tools[2].request.path`.
    public var field: String
    public var message: String

    public init(file: String, line: Int, field: String, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String { "\(file):\(line): \(field): \(message)" }
}
