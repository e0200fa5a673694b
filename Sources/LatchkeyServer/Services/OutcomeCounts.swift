import Foundation

/// Successes and failures of one kind of work (refreshes, proxied calls) in some span of time.
struct OutcomeCounts: Sendable, Equatable {
    var succeeded = 0
    var failed = 0
    var total: Int { succeeded + failed }

    mutating func add(_ other: OutcomeCounts) {
        succeeded += other.succeeded
        failed += other.failed
    }

    /// "67 % (2 of 3)" successful, or `empty`.
    func successSummary(empty: String) -> String {
        total == 0 ? empty : "\(Self.percent(succeeded, total)) (\(succeeded) of \(total))"
    }

    /// "2 % errors (1 of 50 calls)", or `empty`.
    func errorSummary(empty: String) -> String {
        total == 0 ? empty : "\(Self.percent(failed, total)) errors (\(failed) of \(total) calls)"
    }

    static func percent(_ part: Int, _ whole: Int) -> String { "\(Int((Double(part) * 100 / Double(whole)).rounded())) %" }
}
