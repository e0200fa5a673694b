/// Which outbound URLs a manifest may name: https anywhere, http only to loopback (for tests).
public enum URLRules {
    /// Whether `raw` (possibly with placeholders in the host) is https, or http to a loopback host.
    public static func isAllowed(_ raw: String) -> Bool {
        let lower = raw.lowercased()
        if lower.hasPrefix("https://") { return lower.count > "https://".count }
        guard lower.hasPrefix("http://") else { return false }
        return isLoopbackHost(host(ofHTTPURL: lower))
    }

    /// The host of `http://host[:port]/...`, without brackets for IPv6.
    static func host(ofHTTPURL lower: String) -> String {
        let rest = lower.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@").last.map(String.init) ?? ""
        if hostPort.hasPrefix("[") {
            return String(hostPort.dropFirst().prefix { $0 != "]" })
        }
        return String(hostPort.prefix { $0 != ":" })
    }

    /// 127.0.0.0/8, ::1 and localhost.
    public static func isLoopbackHost(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { UInt8($0) != nil }
    }
}

/// Header names and values that are safe to put on a request: no CR, LF or NUL, and a token name.
public enum HeaderRules {
    public static func isSafe(name: String, value: String) -> Bool {
        guard !name.isEmpty else { return false }
        let nameOK = name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || isTokenSymbol($0) }
        let valueOK = value.utf8.allSatisfy { $0 != 0x0D && $0 != 0x0A && $0 != 0x00 }
        return nameOK && valueOK
    }

    /// RFC 9110's `tchar` symbols: ``!#$%&'*+-.^_`|~``.
    static func isTokenSymbol(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
            UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }
}
