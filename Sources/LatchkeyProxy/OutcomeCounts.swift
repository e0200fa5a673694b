import Foundation

/// Successes and failures of one kind of work (refreshes, proxied calls) in some span of time.
public struct OutcomeCounts: Sendable, Equatable {
    public var succeeded = 0
    public var failed = 0
    public var total: Int { succeeded + failed }

    public init(succeeded: Int = 0, failed: Int = 0) {
        self.succeeded = succeeded
        self.failed = failed
    }

    public mutating func add(_ other: OutcomeCounts) {
        succeeded += other.succeeded
        failed += other.failed
    }

    /// "67 % (2 of 3)" successful, or `empty`.
    public func successSummary(empty: String) -> String {
        total == 0 ? empty : "\(Self.percent(succeeded, total)) (\(succeeded) of \(total))"
    }

    /// "2 % errors (1 of 50 calls)", or `empty`.
    public func errorSummary(empty: String) -> String {
        total == 0 ? empty : "\(Self.percent(failed, total)) errors (\(failed) of \(total) calls)"
    }

    public static func percent(_ part: Int, _ whole: Int) -> String { "\(Int((Double(part) * 100 / Double(whole)).rounded())) %" }
}
