import Foundation
import LatchkeyModel

/// The master-key version every replica wraps new data keys under, agreed through the store so that a version
/// can be loaded everywhere before any replica writes with it.
///
/// Contract: `wrappingVersion` is nil until the first `setWrappingVersion`; `setWrappingVersion` is a
/// compare-and-swap (it writes only while the stored value equals `expected`, nil meaning unset) and returns
/// whether it wrote.
public protocol KeyringStateStore: Sendable {
    func wrappingVersion() async throws -> Int?
    func setWrappingVersion(_ version: Int, expected: Int?, at time: Date) async throws -> Bool
}
