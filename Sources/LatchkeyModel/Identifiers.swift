import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A provider's id, the manifest's file name without `.yaml` (e.g. `github`).
public struct ProviderID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ raw: String) { self.rawValue = raw }
    public var description: String { rawValue }
    public static func < (a: ProviderID, b: ProviderID) -> Bool { a.rawValue < b.rawValue }

    /// Whether `raw` is a well-formed provider id: `[a-z0-9][a-z0-9_-]{0,62}`.
    public static func isValid(_ raw: String) -> Bool { OwnerRef.isValidSegment(raw) }
}

/// A connection's id: `conn_` and 26 characters of randomness, stable across reconnects.
public struct ConnectionID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// A fresh random id.
    public static func random() -> ConnectionID {
        ConnectionID(rawValue: "conn_" + RandomToken.base32(bytes: 16))
    }
}

/// Random tokens for ids, states and keys, from the system's CSPRNG.
public enum RandomToken {
    /// `count` random bytes from the system generator, drawn four kilobytes at a time (one read serves about four
    /// hundred request ids; the process never forks, so no two processes share what is drawn ahead).
    public static func bytes(_ count: Int) -> [UInt8] {
        pool.withLock { $0.take(count) }
    }

    private static let pool = Mutex(RandomPool())

    /// Random bytes drawn ahead from the system generator.
    private struct RandomPool: ~Copyable {
        static let size = 4096
        var buffer = [UInt8](repeating: 0, count: size)
        var used = size

        mutating func take(_ count: Int) -> [UInt8] {
            guard count <= Self.size / 4 else { return Self.draw(count) }
            if used + count > Self.size {
                buffer = Self.draw(Self.size)
                used = 0
            }
            defer {
                // What was handed out is not kept.
                for i in used..<(used + count) { buffer[i] = 0 }
                used += count
            }
            return Array(buffer[used..<(used + count)])
        }

        /// `count` bytes straight from the system generator: one read of `/dev/urandom` on Linux (the kernel's CSPRNG,
        /// as `getrandom(2)`, which Swift's Glibc module does not declare); eight bytes per draw of
        /// `SystemRandomNumberGenerator` where it cannot be read, and on other systems.
        static func draw(_ count: Int) -> [UInt8] {
            #if canImport(Glibc)
            if let read = urandom(count) { return read }
            #endif
            var g = SystemRandomNumberGenerator()
            return (0..<count).map { _ in g.next() }
        }

        #if canImport(Glibc)
        /// `count` bytes read from `/dev/urandom`; nil when it cannot be read.
        static func urandom(_ count: Int) -> [UInt8]? {
            let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var out = [UInt8](repeating: 0, count: count)
            var filled = 0
            while filled < count {
                let got = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, count - filled) }
                if got > 0 { filled += got } else if got == 0 || errno != EINTR { return nil }
            }
            return out
        }
        #endif
    }

    /// `bytes` random bytes as lowercase base32 (RFC 4648 alphabet, no padding).
    public static func base32(bytes count: Int) -> String { base32(bytes(count)) }

    /// `data` as lowercase base32 (RFC 4648 alphabet, no padding).
    static func base32(_ data: [UInt8]) -> String {
        // Written straight into the string: a request id is drawn for every request.
        String(unsafeUninitializedCapacity: (data.count * 8 + 4) / 5) { out in
            var written = 0
            var buffer = 0
            var bits = 0
            for byte in data {
                buffer = (buffer << 8) | Int(byte)
                bits += 8
                while bits >= 5 {
                    out[written] = base32Alphabet[(buffer >> (bits - 5)) & 31]
                    written += 1
                    bits -= 5
                }
                buffer &= (1 << bits) - 1
            }
            if bits > 0 {
                out[written] = base32Alphabet[(buffer << (5 - bits)) & 31]
                written += 1
            }
            return written
        }
    }

    private static let base32Alphabet: [UInt8] = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    /// `count` random bytes as unpadded base64url.
    public static func base64URL(bytes count: Int) -> String { Base64URL.encode(bytes(count)) }
}

/// Unpadded base64url (RFC 4648 section 5), as PKCE and keys use it.
public enum Base64URL {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count * 4 + 2) / 3)
        var i = 0
        while i + 3 <= input.count {
            let n = (Int(input[i]) << 16) | (Int(input[i + 1]) << 8) | Int(input[i + 2])
            out += [alphabet[(n >> 18) & 63], alphabet[(n >> 12) & 63], alphabet[(n >> 6) & 63], alphabet[n & 63]]
            i += 3
        }
        let rest = input.count - i
        if rest == 1 {
            let n = Int(input[i]) << 16
            out += [alphabet[(n >> 18) & 63], alphabet[(n >> 12) & 63]]
        } else if rest == 2 {
            let n = (Int(input[i]) << 16) | (Int(input[i + 1]) << 8)
            out += [alphabet[(n >> 18) & 63], alphabet[(n >> 12) & 63], alphabet[(n >> 6) & 63]]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64url or standard base64, padded or not. Nil when malformed.
    public static func decode(_ text: String) -> [UInt8]? {
        var values: [Int] = []
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(Int(c) - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(Int(c) - 97 + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(Int(c) - 48 + 52)
            case UInt8(ascii: "-"), UInt8(ascii: "+"): values.append(62)
            case UInt8(ascii: "_"), UInt8(ascii: "/"): values.append(63)
            case UInt8(ascii: "="): continue
            default: return nil
            }
        }
        if values.count % 4 == 1 { return nil }
        var out: [UInt8] = []
        var buffer = 0
        var bits = 0
        for v in values {
            buffer = (buffer << 6) | v
            bits += 6
            if bits >= 8 {
                out.append(UInt8((buffer >> (bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return out
    }
}

extension ProviderID: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self.rawValue = value }
}
