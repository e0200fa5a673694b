import Foundation

/// How both engines keep small structured values (scopes, config, filters) in a text column: JSON with sorted keys,
/// so equal values are equal text.
public enum StoredJSON {
    /// `value` as JSON text; `null` when it cannot be encoded.
    public static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    /// The value of JSON `text`, or nil when there is none or it does not decode.
    public static func decode<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
        guard let text else { return nil }
        return try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}
