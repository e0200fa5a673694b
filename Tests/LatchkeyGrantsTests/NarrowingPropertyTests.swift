import Foundation
import LatchkeyGrants
import LatchkeyModel
import Testing

/// Narrowing can never widen: for random parent and child grants, whenever the parent's grants include the child's,
/// no call the child's grants allow is refused by the parent's. Deterministic: a fixed seed per run of cases.
@Suite struct NarrowingPropertyTests {
    /// SplitMix64: a small, fast, seedable generator, so every failure can be replayed.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let providers = [ProviderID("github"), ProviderID("slack")]
    static let connections = [ConnectionID(rawValue: "c1"), ConnectionID(rawValue: "c2")]
    static let methods = ["GET", "POST", "DELETE"]
    static let literals = ["repos", "acme", "acme-evil", "ACME", "issues", "x"]
    static let pathSegments = literals + ["%61cme", ""]
    static let tools = ["list", "create", "delete"]

    static func pattern(_ g: inout SeededGenerator) -> PathPattern {
        let count = Int.random(in: 0...4, using: &g)
        let parts = (0..<count).map { _ -> String in
            switch Int.random(in: 0..<10, using: &g) {
            case 0, 1: "*"
            case 2: "**"
            default: literals.randomElement(using: &g)!
            }
        }
        return try! PathPattern(parsing: "/" + parts.joined(separator: "/"))
    }

    static func subset<T>(_ all: [T], _ g: inout SeededGenerator) -> Set<T> {
        Set(all.filter { _ in Bool.random(using: &g) })
    }

    static func grant(_ g: inout SeededGenerator) -> Grant {
        let provider = providers.randomElement(using: &g)!
        let capability: Capability = Bool.random(using: &g)
            ? .tools(provider: provider, names: subset(tools, &g))
            : .proxy(provider: provider, methods: subset(methods, &g), paths: (0..<Int.random(in: 1...3, using: &g)).map { _ in pattern(&g) })
        return Grant(
            capability: capability, connection: Bool.random(using: &g) ? connections.randomElement(using: &g) : nil,
            expiresAt: Bool.random(using: &g) ? now.addingTimeInterval(Double(Int.random(in: -60...600, using: &g))) : nil,
            approval: Bool.random(using: &g) ? .eachCall : .none)
    }

    static func request(_ g: inout SeededGenerator) -> AccessRequest {
        let kind: AccessRequest.Kind = Bool.random(using: &g)
            ? .tool(name: tools.randomElement(using: &g)!)
            : .proxy(method: methods.randomElement(using: &g)!, path: (0..<Int.random(in: 0...5, using: &g)).map { _ in
                pathSegments.randomElement(using: &g)!
            }.joined(separator: "/"))
        return AccessRequest(provider: providers.randomElement(using: &g)!, kind: kind, connection: connections.randomElement(using: &g)!)
    }

    /// A child made from one of the parent's grants by narrowing it (fewer methods or tools, a literal for a `*`, a
    /// pinned connection, an earlier expiry), so that inclusion is exercised often, not only by chance.
    static func narrowed(_ parent: Grant, _ g: inout SeededGenerator) -> Grant {
        var child = parent
        switch parent.capability {
        case .tools(let provider, let names):
            child.capability = .tools(provider: provider, names: names.filter { _ in Bool.random(using: &g) })
        case .proxy(let provider, let methods, let paths):
            let narrowedPaths = paths.map { p -> PathPattern in
                let parts = p.segments.map { s -> String in
                    switch s {
                    case .literal(let l): l
                    case .one: Bool.random(using: &g) ? literals.randomElement(using: &g)! : "*"
                    case .any: ["**", "*", literals.randomElement(using: &g)!].randomElement(using: &g)!
                    }
                }
                return try! PathPattern(parsing: "/" + parts.joined(separator: "/"))
            }
            child.capability = .proxy(provider: provider, methods: methods.filter { _ in Bool.random(using: &g) }, paths: narrowedPaths)
        }
        if child.connection == nil, Bool.random(using: &g) { child.connection = connections.randomElement(using: &g) }
        if let expiry = parent.expiresAt { child.expiresAt = expiry.addingTimeInterval(-Double(Int.random(in: 0...60, using: &g))) }
        if Bool.random(using: &g) { child.approval = .eachCall }
        return child
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64]) func aChildIsNeverAllowedWhatItsParentIsRefused(seed: UInt64) {
        var g = SeededGenerator(state: seed)
        var included = 0
        var allowedChildCalls = 0
        for _ in 0..<400 {
            let parent = GrantSet((0..<Int.random(in: 1...3, using: &g)).map { _ in Self.grant(&g) })
            let candidates = (0..<4).map { _ in Bool.random(using: &g) ? Self.grant(&g) : Self.narrowed(parent.grants.randomElement(using: &g)!, &g) }
            let child = GrantSet(candidates.filter { parent.includes($0, at: Self.now) })
            included += child.grants.count
            for _ in 0..<40 {
                let call = Self.request(&g)
                let at = Self.now.addingTimeInterval(Double(Int.random(in: -30...700, using: &g)))
                guard case .allowed(let childApproval) = child.decide(call, at: at) else { continue }
                allowedChildCalls += 1
                let parentDecision = parent.decide(call, at: at)
                #expect(parentDecision != .notGranted, "seed \(seed): \(call) allowed to the child, refused to the parent")
                if childApproval == .none { #expect(parentDecision == .allowed(approval: .none), "seed \(seed): \(call) skips approval") }
            }
        }
        // The property was really exercised, not passed vacuously.
        #expect(included > 200)
        #expect(allowedChildCalls > 50)
    }
}
