import Foundation
import LatchkeyModel
import Testing

/// Numbers read from JSON are the nearest doubles to what was written, and survive Latchkey writing them again.
@Suite struct JSONValueNumberTests {
    @Test(arguments: [
        ("12349012345679012345690", 1.2349012345679012e22), ("18446744073709551616", 18_446_744_073_709_551_616.0),
        ("-98765432109876543210987", -9.876543210987654e22), ("123456789012345678", 123_456_789_012_345_678.0), ("0.1", 0.1),
    ])
    func aNumberPast64BitsIsTheNearestDouble(_ text: String, _ expected: Double) throws {
        // Found by `make fuzz` (json-body): JSONSerialization reads such numbers as decimals, whose doubleValue was off.
        let value = try #require(JSONValue.parse(Array(text.utf8)))
        #expect(value == .number(expected))
        #expect(JSONValue.parse(value.serialized()) == value)
    }
}
