import Foundation
import Synchronization

/// Metadata documents fetched lately, kept as long as their `Cache-Control: max-age` allows (nothing is kept under
/// `no-store` or `no-cache`, or without a max-age), so that every connect flow does not fetch them again.
public final class MetadataCache: Sendable {
    private let entries = Mutex([String: (body: [UInt8], expires: Date)]())

    public init() {}

    /// The body kept for `url`, while it is fresh at `now`.
    func body(_ url: String, now: Date) -> [UInt8]? {
        entries.withLock { entries in
            guard let entry = entries[url] else { return nil }
            guard entry.expires > now else {
                entries[url] = nil
                return nil
            }
            return entry.body
        }
    }

    /// Keeps `body` for `url` for as long as `cacheControl` allows, counted from `now`.
    func keep(_ body: [UInt8], for url: String, cacheControl: String?, now: Date) {
        guard let seconds = Self.freshness(cacheControl), seconds > 0 else { return }
        entries.withLock { $0[url] = (body, now.addingTimeInterval(TimeInterval(seconds))) }
    }

    /// The `max-age` of a `Cache-Control` value, or nil when it forbids keeping the answer or gives no age.
    static func freshness(_ cacheControl: String?) -> Int? {
        guard let cacheControl else { return nil }
        var maxAge: Int?
        for directive in cacheControl.lowercased().split(separator: ",") {
            let parts = directive.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            switch parts.first {
            case "no-store", "no-cache": return nil
            case "max-age": maxAge = parts.count == 2 ? Int(parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))) : nil
            default: continue
            }
        }
        // A day at most: a changed authorization server is noticed within a day even if it said a year.
        return maxAge.map { min($0, 86_400) }
    }
}
