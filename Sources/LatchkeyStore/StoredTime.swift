import Foundation
import LatchkeyModel

/// How both engines keep times: seconds since 1970 in a floating-point column.
public enum StoredTime {
    /// The time `seconds` holds; nil for a NULL column.
    public static func date(_ seconds: Double?) -> Date? { seconds.map(Date.init(timeIntervalSince1970:)) }

    /// A time the row must hold. A row without it is malformed: reading it fails with `internal_error` naming the
    /// column, instead of stopping the process.
    public static func required(_ seconds: Double?, _ column: String) throws(LatchkeyError) -> Date {
        guard let seconds, seconds.isFinite else { throw .malformedRow(column: column) }
        return Date(timeIntervalSince1970: seconds)
    }
}
