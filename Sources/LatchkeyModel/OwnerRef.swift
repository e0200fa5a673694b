/// A reference to the owner of a connection, app or install: `org:ORG`, `team:ORG/TEAM`,
/// `project:ORG/TEAM/PROJECT`, `agent:ORG/TEAM/PROJECT/AGENT` or `user:ORG/USER`; or `platform`, the operator of the
/// deployment, which owns only managed apps and API-key connections.
///
/// Segments match `[a-z0-9][a-z0-9_-]{0,62}`. Owners inherit downward: org, team, project, agent. The platform sits on
/// no chain: what it owns is reached only by an org's choice of managed credentials.
public struct OwnerRef: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The kind of owner, in inheritance order.
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case org, team, project, agent, user
        /// The deployment's operator: no path, written `platform`.
        case platform

        /// How many path segments a reference of this kind has.
        public var segmentCount: Int {
            switch self {
            case .org: 1
            case .team: 2
            case .project: 3
            case .agent: 4
            case .user: 2
            case .platform: 0
            }
        }
    }

    public let kind: Kind
    /// The path segments, e.g. `["acme", "growth", "crm"]` for a project.
    public let segments: [String]
    /// `kind:path` (`project:acme/growth/crm`), or `platform`: written once, when the reference is made. Each metered
    /// call names its agent, and owners key the hot path's caches, which hash and compare this text alone (it names
    /// one kind and one path, since segments hold neither `:` nor `/`).
    public let description: String

    /// Builds a reference from validated parts; throws `invalid_owner` naming what is wrong.
    public init(kind: Kind, segments: [String], field: String = "owner") throws(LatchkeyError) {
        guard segments.count == kind.segmentCount else {
            throw LatchkeyError(
                .invalidOwner,
                "\(field): a \(kind.rawValue) reference has \(kind.segmentCount) segment(s), got \(segments.count)",
                field: field)
        }
        for segment in segments where !OwnerRef.isValidSegment(segment) {
            throw LatchkeyError(
                .invalidOwner,
                "\(field): segment '\(segment.prefix(70))' must match [a-z0-9][a-z0-9_-]{0,62}",
                field: field)
        }
        self.init(unchecked: kind, segments)
    }

    /// The platform: the operator of the deployment.
    public static let platform = OwnerRef(unchecked: .platform, [])

    /// Parses `kind:seg/seg/...`, or `platform`.
    public init(parsing text: String, field: String = "owner") throws(LatchkeyError) {
        if text == Kind.platform.rawValue {
            self = .platform
            return
        }
        guard let colon = text.firstIndex(of: ":") else {
            throw LatchkeyError(
                .invalidOwner, "\(field): expected KIND:PATH such as org:acme or agent:acme/team/project/agent",
                field: field)
        }
        let kindText = String(text[..<colon])
        guard let kind = Kind(rawValue: kindText) else {
            throw LatchkeyError(
                .invalidOwner, "\(field): unknown owner kind '\(kindText.prefix(20))' (org, team, project, agent, user, or platform alone)",
                field: field)
        }
        let path = text[text.index(after: colon)...]
        try self.init(kind: kind, segments: path.split(separator: "/", omittingEmptySubsequences: false).map(String.init), field: field)
    }

    /// Parses a bare path (`acme/growth/crm`) as the given kind.
    public init(kind: Kind, path: String, field: String) throws(LatchkeyError) {
        try self.init(kind: kind, segments: path.split(separator: "/", omittingEmptySubsequences: false).map(String.init), field: field)
    }

    public static func isValidSegment(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        func isAlnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        guard isAlnum(bytes[0]) else { return false }
        return bytes.dropFirst().allSatisfy { isAlnum($0) || $0 == 0x5F || $0 == 0x2D }
    }

    /// The path without the kind, e.g. `acme/growth/crm`.
    public var path: String { kind == .platform ? "" : String(description.utf8.dropFirst(kind.rawValue.utf8.count + 1))! }

    public static func == (a: OwnerRef, b: OwnerRef) -> Bool { a.description == b.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }

    /// The organization this owner belongs to; empty for the platform, so it never equals an org's name.
    public var org: String { segments.first ?? "" }
    /// Whether this is the platform.
    public var isPlatform: Bool { kind == .platform }

    /// This owner, unless it is the platform: for every input but managed apps and API-key connections.
    public func refusingPlatform(field: String = "owner") throws(LatchkeyError) -> OwnerRef {
        guard !isPlatform else {
            throw LatchkeyError(
                .invalidOwner, "\(field): platform owns only managed apps and API-key connections; name an org, team, project, agent or user",
                field: field)
        }
        return self
    }

    /// The owner one level up: agent to project, project to team, team to org, user to org. Nil for an org and the platform.
    public var parent: OwnerRef? {
        switch kind {
        case .org, .platform: nil
        case .team: OwnerRef(unchecked: .org, Array(segments.prefix(1)))
        case .project: OwnerRef(unchecked: .team, Array(segments.prefix(2)))
        case .agent: OwnerRef(unchecked: .project, Array(segments.prefix(3)))
        case .user: OwnerRef(unchecked: .org, Array(segments.prefix(1)))
        }
    }

    /// This owner and every owner it inherits from, nearest first (agent, project, team, org).
    /// A user's chain is the user alone: user connections are reached only by naming the user.
    public var inheritanceChain: [OwnerRef] {
        if kind == .user { return [self] }
        var chain = [self]
        var current = self
        while let up = current.parent {
            chain.append(up)
            current = up
        }
        return chain
    }

    /// Whether `other` is this owner or sits below it (for example a project below its team).
    public func encloses(_ other: OwnerRef) -> Bool {
        if other.kind == .user { return self == other || (kind == .org && segments[0] == other.segments[0]) }
        return other.inheritanceChain.contains(self)
    }

    private init(unchecked kind: Kind, _ segments: [String]) {
        self.kind = kind
        self.segments = segments
        guard kind != .platform else {
            description = kind.rawValue
            return
        }
        var text = kind.rawValue
        text.reserveCapacity(text.utf8.count + segments.count + segments.reduce(0) { $0 + $1.utf8.count })
        text.append(":")
        for (i, segment) in segments.enumerated() {
            if i > 0 { text.append("/") }
            text.append(segment)
        }
        description = text
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(parsing: text) } catch { throw error }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public static func < (a: OwnerRef, b: OwnerRef) -> Bool { a.description < b.description }
}
