import Foundation
import LatchkeyCrypto
import LatchkeyGrants
import LatchkeyModel
import LatchkeyStore
import Testing

/// Narrowed keys: an agent mints a short-lived key that carries at most what the key it called with may do.
@Suite struct KeyNarrowingTests {
    let parentHash = GrantsWorld.scoutKeyHash
    let c1 = ConnectionID(rawValue: "conn_one")

    func narrowing(_ w: GrantsWorld) -> KeyNarrowing {
        KeyNarrowing(store: w.store, access: w.access, catalog: w.catalog, audit: AuditTrail(store: w.store, logger: .init(label: "t")), clock: w.clock)
    }

    func body(_ json: String) -> JSONValue { JSONValue.parse(Array(json.utf8)) ?? .null }

    /// The caller a minted key authenticates as.
    func caller(of minted: KeyNarrowing.Minted) -> Caller {
        let r = minted.record
        return .agent(r.agent, scope: KeyScope(keyHash: r.keyHash, depth: r.depth, grants: r.grants, expiresAt: r.expiresAt))
    }

    func allowed(_ w: GrantsWorld, _ caller: Caller, _ request: AccessRequest, writes: Bool = false) async throws -> Bool {
        try await w.access.standing(of: caller)?.decide(request, writes: writes) == .allowed(approval: .none)
    }

    func proxy(_ method: String, _ path: String) -> AccessRequest {
        AccessRequest(provider: "gh", kind: .proxy(method: method, path: path), connection: c1)
    }

    @Test func aKeyCarriesOnlyItsGrantsEvenWhereTheOrgIsOpen() async throws {
        let w = try await GrantsWorld()
        let minted = try await narrowing(w).mint(
            body(#"{"ttl":"15m","grants":[{"provider":"gh","methods":["GET"],"paths":["/repos/acme/*"]}]}"#), caller: .agent(w.scout), parentHash: parentHash)
        #expect(minted.apiKey.hasPrefix(AgentKey.prefix) && minted.record.keyHash == SecretHash.sha256Hex(minted.apiKey))
        #expect(minted.record.depth == 1 && minted.record.parentHash == parentHash)
        #expect(minted.record.expiresAt == w.clock.now.addingTimeInterval(900))
        #expect(minted.record.grants.map(\.expiresAt) == [minted.record.expiresAt])
        let key = caller(of: minted)
        #expect(try await allowed(w, key, proxy("GET", "repos/acme/site")))
        #expect(try await !allowed(w, key, proxy("GET", "repos/acme-evil/site")))
        #expect(try await !allowed(w, key, proxy("POST", "repos/acme/site")))
        #expect(try await !allowed(w, key, AccessRequest(provider: "gh", kind: .tool(name: "list_issues"), connection: c1)))
        // The agent's own key is as open as before.
        #expect(try await allowed(w, .agent(w.scout), proxy("POST", "repos/acme/site")))
        let stored = try await w.store.narrowedKey(hash: minted.record.keyHash)
        #expect(stored == minted.record)
        let events = try await w.store.events(AuditQuery(ownerPrefix: w.scout, action: AuditAction.agentKeyNarrowed.rawValue, limit: 5))
        #expect(events.count == 1 && events[0].detail?.contains("from key_aaaaaaaaaaaa, depth 1") == true)
    }

    @Test func askingForMoreThanTheParentMayDoIsRefusedNamingTheGrantAndStoresNothing() async throws {
        let w = try await GrantsWorld()
        try await w.directory.setPolicy(OrgAccessPolicy(readTools: .open, proxy: .granted), org: w.org, actor: .admin)
        try await w.directory.replace(w.project, with: try w.grants(#"{"grants":[{"provider":"gh","methods":["GET"],"paths":["/repos/acme/**"]}]}"#), actor: .admin)
        let n = narrowing(w)
        let cases = [
            (#"{"ttl":"5m","grants":[{"provider":"gh","methods":["GET"],"paths":["/repos/acme/x"]},{"provider":"gh","methods":["GET"],"paths":["/repos/**"]}]}"#, "grants[1]"),
            (#"{"ttl":"5m","grants":[{"provider":"gh","methods":["DELETE"],"paths":["/repos/acme/x"]}]}"#, "grants[0]"),
            (#"{"ttl":"5m","grants":[{"provider":"gh","tools":["create_issue"]}]}"#, "grants[0]"),
        ]
        for (json, field) in cases {
            let error = await GrantsWorld.refusal { _ = try await n.mint(body(json), caller: .agent(w.scout), parentHash: parentHash) }
            #expect(error?.code == .exceedsParent && error?.field == field, "\(json)")
        }
        // Read tools are open to the agent, so a key may carry them.
        _ = try await n.mint(body(#"{"ttl":"5m","grants":[{"provider":"gh","tools":["list_issues"]}]}"#), caller: .agent(w.scout), parentHash: parentHash)
        #expect(try await w.store.narrowedKeys(agent: w.scout).count == 1)
    }

    @Test func aNarrowedKeyMintsOnlyWithinItselfUpToTheDeepestNarrowing() async throws {
        let w = try await GrantsWorld()
        let n = narrowing(w)
        let first = try await n.mint(
            body(#"{"ttl":"1h","grants":[{"provider":"gh","methods":["GET","POST"],"paths":["/repos/**"]}]}"#), caller: .agent(w.scout), parentHash: parentHash)
        let wider = await GrantsWorld.refusal {
            _ = try await n.mint(body(#"{"ttl":"5m","grants":[{"provider":"gh","methods":["GET"],"paths":["/user"]}]}"#), caller: caller(of: first), parentHash: first.record.keyHash)
        }
        #expect(wider?.code == .exceedsParent && wider?.message.contains(caller(of: first).keyScope?.keyID ?? "?") == true)
        // A child never outlives its parent: asking for a day gets the parent's hour.
        let second = try await n.mint(
            body(#"{"ttl":"1d","grants":[{"provider":"gh","methods":["GET"],"paths":["/repos/acme/**"]}]}"#), caller: caller(of: first), parentHash: first.record.keyHash)
        #expect(second.record.depth == 2 && second.record.expiresAt == first.record.expiresAt && second.record.parentHash == first.record.keyHash)
        let third = try await n.mint(
            body(#"{"ttl":"1m","grants":[{"provider":"gh","methods":["GET"],"paths":["/repos/acme/x"]}]}"#), caller: caller(of: second), parentHash: second.record.keyHash)
        #expect(third.record.depth == 3)
        let fourth = await GrantsWorld.refusal {
            _ = try await n.mint(body(#"{"ttl":"1m","grants":[{"provider":"gh","methods":["GET"],"paths":["/repos/acme/x"]}]}"#), caller: caller(of: third), parentHash: third.record.keyHash)
        }
        #expect(fourth?.code == .exceedsParent)
    }

    @Test func aKeyEndsOnAWholeSecondSoThatItsChildCanEndWithItAfterAnyStoreReadsItBack() async throws {
        let w = try await GrantsWorld()
        w.clock.advance(by: .milliseconds(123))
        let minted = try await narrowing(w).mint(
            body(#"{"ttl":"15m","grants":[{"provider":"gh","methods":["GET"],"paths":["/x"]}]}"#), caller: .agent(w.scout), parentHash: parentHash)
        #expect(minted.record.expiresAt.timeIntervalSince1970 == (w.clock.now.timeIntervalSince1970 + 900).rounded(.down))
        #expect(minted.record.grants[0].expiresAt == minted.record.expiresAt)
    }

    @Test func aBadRequestIsRefusedNamingTheField() async throws {
        let w = try await GrantsWorld()
        let n = narrowing(w)
        let cases: [(String, String?)] = [
            (#"{"grants":[{"provider":"gh","tools":["list_issues"]}]}"#, "ttl"),
            (#"{"ttl":"2d","grants":[{"provider":"gh","tools":["list_issues"]}]}"#, "ttl"),
            (#"{"ttl":"5m","grants":[]}"#, "grants"),
            (#"{"ttl":"5m"}"#, "grants"),
            (#"{"ttl":"5m","grants":[{"provider":"gh","tools":["list_issues"]}],"depth":9}"#, "depth"),
            (#"{"ttl":"5m","grants":[{"provider":"gh","tools":["list_issues"],"approval":"sometimes"}]}"#, "grants[0].approval"),
        ]
        for (json, field) in cases {
            let error = await GrantsWorld.refusal { _ = try await n.mint(body(json), caller: .agent(w.scout), parentHash: parentHash) }
            #expect(error?.code == .invalidRequest && error?.field == field, "\(json)")
        }
        let admin = await GrantsWorld.refusal { _ = try await n.mint(body(#"{"ttl":"5m","grants":[]}"#), caller: .admin, parentHash: parentHash) }
        #expect(admin?.code == .forbidden)
    }

    /// Through the real minting path, with random agent grants, policies and requested grants: a minted key (and a
    /// key minted from it) is never allowed a call its parent is refused, at any time.
    @Test(arguments: [11, 12, 13, 14] as [UInt64]) func narrowingNeverWidens(seed: UInt64) async throws {
        var g = NarrowingPropertyTests.SeededGenerator(state: seed)
        let segments = ["repos", "acme", "acme-evil", "x"]
        func pattern() -> String {
            "/" + (0..<Int.random(in: 0...3, using: &g)).map { _ in ["*", "**", segments.randomElement(using: &g)!].randomElement(using: &g)! }
                .joined(separator: "/")
        }
        func grantJSON() -> String {
            let bound = Bool.random(using: &g) ? #","connection":"conn_one""# : ""
            let ttl = Bool.random(using: &g) ? #","ttl":"\#(Int.random(in: 1...30, using: &g))m""# : ""
            if Bool.random(using: &g) {
                let tools = ["list_issues", "create_issue"].filter { _ in Bool.random(using: &g) }
                return #"{"provider":"gh","tools":[\#((tools.isEmpty ? ["list_issues"] : tools).map { "\"\($0)\"" }.joined(separator: ","))]\#(bound)\#(ttl)}"#
            }
            let methods = ["GET", "POST"].filter { _ in Bool.random(using: &g) }
            return #"{"provider":"gh","methods":[\#((methods.isEmpty ? ["GET"] : methods).map { "\"\($0)\"" }.joined(separator: ","))],"paths":["\#(pattern())"]\#(bound)\#(ttl)}"#
        }
        var minted = 0
        var allowed = 0
        for _ in 0..<100 {
            let w = try await GrantsWorld()
            let n = narrowing(w)
            let openness: [OrgAccessPolicy.Openness] = [.open, .granted]
            try await w.directory.setPolicy(
                OrgAccessPolicy(readTools: openness.randomElement(using: &g)!, proxy: openness.randomElement(using: &g)!), org: w.org, actor: .admin)
            for holder in [w.scout, w.project, w.team] where Bool.random(using: &g) {
                try await w.directory.replace(holder, with: try w.grants(#"{"grants":[\#(grantJSON()),\#(grantJSON())]}"#), actor: .admin)
            }
            var parent: Caller = .agent(w.scout)
            for _ in 0..<3 {
                let request = #"{"ttl":"\#(Int.random(in: 1...40, using: &g))m","grants":[\#(grantJSON())]}"#
                guard let child = try? await n.mint(body(request), caller: parent, parentHash: parent.keyScope?.keyHash ?? parentHash) else { break }
                minted += 1
                let childCaller = caller(of: child)
                for _ in 0..<30 {
                    let offset = Int.random(in: 0...2400, using: &g)
                    let call: AccessRequest
                    let writes: Bool
                    if Bool.random(using: &g) {
                        let tool = ["list_issues", "create_issue"].randomElement(using: &g)!
                        (call, writes) = (AccessRequest(provider: "gh", kind: .tool(name: tool), connection: ConnectionID(rawValue: ["conn_one", "conn_two"].randomElement(using: &g)!)), tool == "create_issue")
                    } else {
                        // Half the paths are drawn from the key's own patterns, so that allowed calls are common.
                        let patterns = child.record.grants.flatMap(\.paths)
                        let path = if let pattern = patterns.randomElement(using: &g), Bool.random(using: &g) {
                            pattern.split(separator: "/").map { $0 == "*" ? "acme" : $0 == "**" ? "x/y" : String($0) }.joined(separator: "/")
                        } else {
                            (0..<Int.random(in: 0...4, using: &g)).map { _ in segments.randomElement(using: &g)! }.joined(separator: "/")
                        }
                        (call, writes) = (AccessRequest(provider: "gh", kind: .proxy(method: ["GET", "POST"].randomElement(using: &g)!, path: path), connection: ConnectionID(rawValue: ["conn_one", "conn_two"].randomElement(using: &g)!)), false)
                    }
                    w.clock.advance(by: .seconds(offset))
                    let childMay = try await self.allowed(w, childCaller, call, writes: writes)
                    let parentMay = try await self.allowed(w, parent, call, writes: writes)
                    w.clock.advance(by: .seconds(-offset))
                    if childMay {
                        allowed += 1
                        #expect(parentMay, "seed \(seed): \(call) allowed to a key, refused to its parent")
                    }
                }
                parent = childCaller
            }
        }
        // Exercised, not passed vacuously.
        #expect(minted > 40)
        #expect(allowed > 40)
    }
}
