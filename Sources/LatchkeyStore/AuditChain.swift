import Foundation
import LatchkeyCrypto

/// The audit log's hash chains, one per org: each event's hash covers the event and the hash before it, so an event
/// edited, removed or moved after it was written breaks the chain from that event on.
///
/// `hash = SHA-256(previous hash ‖ canonical event)`, lowercase hex, where the previous hash is the 32 bytes of the
/// org's event before (``genesis`` before its first) and the canonical event is, in this order, the format tag
/// `latchkey-audit-v1`, the chain (the org, empty for events of no org), the event's number in its chain, its time in
/// whole microseconds since 1970, actor, action, owner, provider, connection, outcome and detail, each written as its
/// UTF-8 byte count, `:`, and its bytes, or `~` when absent. The engines append under a lock on the chain's head, in
/// the transaction that writes the event.
public enum AuditChain {
    /// The previous hash of an org's first event.
    public static let genesis = String(repeating: "0", count: 64)

    /// The chain an event belongs to: its owner's org, or "" for events of no org (and the platform's).
    public static func chain(of event: AuditEvent) -> String { event.owner?.org ?? "" }

    /// The hash of `event`, number `seq` in `chain`, written at `at` seconds since 1970 (as stored), after `previous`.
    public static func hash(previous: String, chain: String, seq: Int64, at: Double, event: AuditEvent) -> String {
        let bytes = bytes(hex: previous) + canonical(chain: chain, seq: seq, at: at, event: event)
        return SecretHash.hex(SecretHash.sha256(bytes))
    }

    /// The canonical bytes of an event, as the hash covers them.
    public static func canonical(chain: String, seq: Int64, at: Double, event: AuditEvent) -> [UInt8] {
        let fields: [String?] = [
            "latchkey-audit-v1", chain, String(seq), String(microseconds(at)), event.actor.rawValue, event.action.rawValue,
            event.owner?.description, event.provider?.rawValue, event.connectionID?.rawValue, event.outcome, event.detail,
        ]
        var bytes: [UInt8] = []
        for field in fields {
            guard let field else {
                bytes.append(UInt8(ascii: "~"))
                continue
            }
            bytes += Array("\(field.utf8.count):".utf8) + Array(field.utf8)
        }
        return bytes
    }

    /// Whole microseconds since 1970 of a stored time, rounded half away from zero.
    public static func microseconds(_ seconds: Double) -> Int64 {
        let value = (seconds * 1_000_000).rounded()
        return value.isFinite && abs(value) < 9.2e18 ? Int64(value) : 0
    }

    /// The bytes of a hex string; a string that is not hex (a damaged row) gives its UTF-8 bytes, which never hash
    /// like the 32 bytes they should be.
    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return digits }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return digits }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}

/// An audit event with its place in its org's chain, as stored.
public struct ChainedAuditEvent: Sendable, Equatable {
    public var event: AuditEvent
    /// The stored time, in seconds since 1970, exactly as the hash covers it.
    public var at: Double
    /// The chain (org) it belongs to; nil for an event that was never chained (a damaged or forged row).
    public var chain: String?
    public var seq: Int64?
    public var previousHash: String?
    public var hash: String?

    public init(event: AuditEvent, at: Double, chain: String?, seq: Int64?, previousHash: String?, hash: String?) {
        self.event = event
        self.at = at
        self.chain = chain
        self.seq = seq
        self.previousHash = previousHash
        self.hash = hash
    }
}

/// Where an org's chain ends: its last event's number and hash.
public struct AuditChainHead: Sendable, Equatable {
    public var chain: String
    public var seq: Int64
    public var hash: String

    public init(chain: String, seq: Int64, hash: String) {
        self.chain = chain
        self.seq = seq
        self.hash = hash
    }
}
