/// Which addresses an outbound request may connect to, checked on each address the host resolves to, before a
/// socket is opened (so a name that resolves to an internal address is refused as that address would be).
public enum OutboundAddressPolicy: Sendable, Equatable {
    /// Any address the URL rules allow: manifests' providers, which admins chose.
    case any
    /// Public addresses and loopback only (loopback is where tests run their peers, and is `http`'s only reach):
    /// private, shared, link-local (cloud metadata services among them), multicast and reserved ranges are refused
    /// unless one of `allowing` holds the address. For URLs a third party's metadata names.
    case publicOnly(allowing: [AddressRange])

    /// Whether `address` (4 or 16 bytes) may be connected to.
    public func admits(_ address: [UInt8]) -> Bool {
        switch self {
        case .any: return true
        case .publicOnly(let allowed):
            if allowed.contains(where: { $0.contains(address) }) { return true }
            return !AddressRange.internal.contains { $0.contains(address) }
        }
    }
}

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `fd00::/8`).
public struct AddressRange: Sendable, Equatable, CustomStringConvertible {
    public let network: [UInt8]
    public let prefixLength: Int

    /// Parses `a.b.c.d/n` or an IPv6 address `/n`; a bare address is a single host. Nil when it is neither.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, let address = AddressRange.bytes(of: first) else { return nil }
        let bits = address.count * 8
        let length = parts.count == 2 ? Int(parts[1]) : bits
        guard let length, (0...bits).contains(length) else { return nil }
        network = address
        prefixLength = length
    }

    public var description: String { "\(AddressRange.text(of: network))/\(prefixLength)" }

    /// Whether `address` is in the range. An IPv4-mapped or NAT64 IPv6 address is judged as the IPv4 address it holds.
    public func contains(_ address: [UInt8]) -> Bool {
        let address = AddressRange.unmapped(address)
        guard address.count == network.count else { return false }
        var left = prefixLength
        for (a, n) in zip(address, network) where left > 0 {
            let mask: UInt8 = left >= 8 ? 0xFF : ~(0xFF >> UInt8(left))
            guard a & mask == n & mask else { return false }
            left -= 8
        }
        return true
    }

    /// The ranges `publicOnly` refuses: RFC 6890's special-purpose ranges that are not global, loopback aside.
    public static let `internal`: [AddressRange] = ([
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24",
        "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "fc00::/7", "fe80::/10", "ff00::/8", "2001:db8::/32",
    ] as [String]).compactMap(AddressRange.init)

    /// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`) IPv6 address.
    static func unmapped(_ address: [UInt8]) -> [UInt8] {
        guard address.count == 16 else { return address }
        let mapped = address.prefix(10).allSatisfy { $0 == 0 } && address[10] == 0xFF && address[11] == 0xFF
        let nat64 = address.prefix(12).elementsEqual([0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0])
        return mapped || nat64 ? Array(address.suffix(4)) : address
    }

    /// The bytes of a dotted-quad IPv4 or a textual IPv6 address.
    public static func bytes(of text: String) -> [UInt8]? {
        if let octets = OutboundURLPolicy.dottedQuad(text) { return octets.map(UInt8.init) }
        return OutboundURLPolicy.ipv6Bytes(text)
    }

    /// An address as text: dotted quad, or IPv6 groups in hex.
    public static func text(of address: [UInt8]) -> String {
        if address.count == 4 { return address.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: address.count, by: 2).map { String(UInt16(address[$0]) << 8 | UInt16(address[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }
}
