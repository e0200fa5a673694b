/// Byte comparison whose time depends only on the lengths, not on where the values differ.
enum ConstantTime {
    /// Whether `a` and `b` hold the same UTF-8 bytes. Used for the nonce, so a caller timing the
    /// comparison learns nothing about how much of a guess was right.
    static func equals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}
