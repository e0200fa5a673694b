import Foundation
import LatchkeyModel

/// How both engines keep small structured values (scopes, config, filters, a narrowed key's grants) in a text column:
/// JSON with sorted keys, so equal values are equal text.
///
/// A date inside a value is Foundation's own encoding, its seconds since 2001 as a JSON number, which reads back as the
/// same `Date` to the last bit. Seconds since 1970, as the time columns hold, would not: adding the 31 years rounds
/// away the last bit of many fractions.
public enum StoredJSON {
    /// `value` as JSON text; `null` when it cannot be encoded.
    public static func encode(_ value: some Encodable) -> String {
        String(decoding: (try? encoder().encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    /// The value of JSON `text`, or nil when there is none or it does not decode.
    public static func decode<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
        guard let text else { return nil }
        return try? decoder().decode(T.self, from: Data(text.utf8))
    }

    /// The value of JSON `text` that a row must hold. A row without it is malformed: reading it fails with
    /// `internal_error` naming the column, instead of passing for an empty value.
    public static func required<T: Decodable>(_ type: T.Type, _ text: String?, _ column: String) throws(LatchkeyError) -> T {
        guard let value = decode(type, text) else { throw .malformedRow(column: column) }
        return value
    }

    /// The one encoder of stored JSON; ``decoder()`` reads what it writes.
    private static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.dateEncodingStrategy = .deferredToDate
        return encoder
    }

    /// The one decoder of stored JSON, the counterpart of ``encoder()``.
    private static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .deferredToDate
        return decoder
    }
}
