import Foundation

extension JSONEncoder {
    /// How the APIs write JSON: sorted keys, unescaped slashes, ISO 8601 dates.
    public static var latchkeyAPI: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}
