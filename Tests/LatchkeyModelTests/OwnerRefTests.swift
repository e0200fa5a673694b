import LatchkeyModel
import Testing

@Suite("Owner references")
struct OwnerRefTests {
    @Test(arguments: [
        ("org:acme", OwnerRef.Kind.org, ["acme"]),
        ("team:acme/growth", .team, ["acme", "growth"]),
        ("project:acme/growth/crm", .project, ["acme", "growth", "crm"]),
        ("agent:acme/growth/crm/scout", .agent, ["acme", "growth", "crm", "scout"]),
        ("user:acme/alice", .user, ["acme", "alice"]),
        ("org:a-b_c9", .org, ["a-b_c9"]),
    ])
    func parsesEveryKind(text: String, kind: OwnerRef.Kind, segments: [String]) throws {
        let ref = try OwnerRef(parsing: text)
        #expect(ref.kind == kind)
        #expect(ref.segments == segments)
        #expect(ref.description == text)
    }

    @Test(arguments: [
        "acme", "org:", "org:Acme", "org:-acme", "team:acme", "team:acme/", "agent:a/b/c", "planet:acme", "org:a/b",
        "project:acme/../x", "user:acme", "org:ac me", "org:" + String(repeating: "a", count: 64), ":acme",
        "platform:", "platform:acme", "Platform", "platform/acme",
    ])
    func refusesMalformedReferencesNamingTheField(text: String) {
        #expect(throws: LatchkeyError.self) { try OwnerRef(parsing: text, field: "owner") }
        do {
            _ = try OwnerRef(parsing: text, field: "owner")
        } catch {
            #expect(error.code == .invalidOwner)
            #expect(error.field == "owner")
            #expect(error.message.hasPrefix("owner:"))
        }
    }

    /// References compare and hash by their text, which is the same exactly when kind and segments are.
    @Test func twoReferencesAreEqualExactlyWhenKindAndSegmentsAre() throws {
        let texts = [
            "org:acme", "org:acme2", "team:acme/growth", "team:acme/growt", "project:acme/growth/crm", "agent:acme/growth/crm/scout",
            "user:acme/alice", "user:acme/growth", "team:acme/alice", "platform",
        ]
        let refs = try texts.map { try OwnerRef(parsing: $0) } + [try OwnerRef(kind: .team, segments: ["acme", "growth"])]
        for a in refs {
            #expect(a.path == a.segments.joined(separator: "/"))
            #expect(try OwnerRef(parsing: a.description) == a)
            for b in refs {
                #expect((a == b) == (a.kind == b.kind && a.segments == b.segments), "\(a) against \(b)")
                if a == b { #expect(a.hashValue == b.hashValue) }
            }
        }
        let chainTop = try OwnerRef(parsing: "agent:acme/growth/crm/scout").inheritanceChain.last
        #expect(chainTop == (try OwnerRef(parsing: "org:acme")) && chainTop?.description == "org:acme")
        #expect(Set(refs).count == texts.count)
    }

    @Test func anAgentInheritsFromItsProjectTeamAndOrgInThatOrder() throws {
        let agent = try OwnerRef(parsing: "agent:acme/growth/crm/scout")
        #expect(agent.inheritanceChain.map(\.description) == [
            "agent:acme/growth/crm/scout", "project:acme/growth/crm", "team:acme/growth", "org:acme",
        ])
    }

    @Test func aUserInheritsNothingSoItsConnectionsAreReachedOnlyByName() throws {
        let user = try OwnerRef(parsing: "user:acme/alice")
        #expect(user.inheritanceChain == [user])
        #expect(user.parent == (try OwnerRef(parsing: "org:acme")))
    }

    @Test func enclosingFollowsTheChain() throws {
        let team = try OwnerRef(parsing: "team:acme/growth")
        #expect(team.encloses(try OwnerRef(parsing: "agent:acme/growth/crm/scout")))
        #expect(!team.encloses(try OwnerRef(parsing: "agent:acme/sales/crm/scout")))
        #expect(!team.encloses(try OwnerRef(parsing: "org:acme")))
        #expect(try OwnerRef(parsing: "org:acme").encloses(try OwnerRef(parsing: "user:acme/alice")))
    }

    @Test func thePlatformIsWrittenAloneAndSitsOnNoChain() throws {
        let platform = try OwnerRef(parsing: "platform")
        #expect(platform == .platform && platform.kind == .platform && platform.segments.isEmpty)
        #expect(platform.description == "platform" && platform.path.isEmpty)
        // Its org is empty, so it never passes for an org named `platform`.
        let orgNamedPlatform = try OwnerRef(parsing: "org:platform")
        #expect(platform.org == "" && platform != orgNamedPlatform)
        #expect(platform.parent == nil && platform.inheritanceChain == [platform])
        let agent = try OwnerRef(parsing: "agent:acme/growth/crm/scout")
        #expect(!agent.inheritanceChain.contains(platform))
        let acme = try OwnerRef(parsing: "org:acme")
        #expect(!platform.encloses(agent) && !acme.encloses(platform) && platform.encloses(platform))
    }

    @Test func everyInputButManagedCredentialsRefusesThePlatformNamingTheField() throws {
        #expect(try OwnerRef(parsing: "org:acme").refusingPlatform(field: "grantee") == (try OwnerRef(parsing: "org:acme")))
        let error = #expect(throws: LatchkeyError.self) { try OwnerRef.platform.refusingPlatform(field: "grantee") }
        #expect(error?.code == .invalidOwner && error?.field == "grantee" && error?.message.hasPrefix("grantee:") == true)
    }
}

@Suite("Connection lifecycle")
struct ConnectionLifecycleTests {
    @Test(arguments: [
        (ConnectionState.installed, ConnectionEvent.connected, ConnectionState.active),
        (.active, .refreshed, .active),
        (.active, .refreshRejected, .needsReauth),
        (.active, .refreshFailedAfterExpiry, .error),
        (.error, .refreshed, .active),
        (.error, .refreshRejected, .needsReauth),
        (.needsReauth, .connected, .active),
        (.active, .revoked, .revoked),
        (.needsReauth, .revoked, .revoked),
    ])
    func allowedTransitions(from: ConnectionState, event: ConnectionEvent, to: ConnectionState) throws {
        var machine = ConnectionLifecycle(from)
        #expect(try machine.apply(event) == to)
    }

    @Test(arguments: [
        (ConnectionState.installed, ConnectionEvent.refreshed),
        (.needsReauth, .refreshed),
        (.revoked, .connected),
        (.revoked, .refreshed),
        (.installed, .refreshRejected),
    ])
    func refusedTransitionsLeaveTheStateAlone(from: ConnectionState, event: ConnectionEvent) {
        var machine = ConnectionLifecycle(from)
        #expect(throws: LatchkeyError.self) { try machine.apply(event) }
        #expect(machine.state == from)
    }
}

@Suite("Encodings")
struct EncodingTests {
    @Test func base64URLRoundTripsEveryLength() {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64URL.decode(text) == bytes)
        }
    }

    @Test func randomTokensAreLongAndDistinct() {
        let a = RandomToken.base64URL(bytes: 32), b = RandomToken.base64URL(bytes: 32)
        #expect(a.count == 43 && a != b)
        #expect(ConnectionID.random().rawValue.hasPrefix("conn_"))
    }

    @Test func credentialsNeverPrintTheirValues() {
        let c = Credential(accessToken: "at-secret", refreshToken: "rt-secret", apiKey: "key-secret")
        #expect(!"\(c)".contains("secret"))
        #expect(!String(reflecting: c).contains("secret"))
    }

    @Test func jsonPathsReachNestedValues() {
        let json = JSONValue.parse(Array(#"{"authed_user":{"access_token":"x"},"list":[{"id":7}]}"#.utf8))!
        #expect(json.value(atPath: "authed_user.access_token") == .string("x"))
        #expect(json.value(atPath: "list.0.id")?.scalarText == "7")
        #expect(json.value(atPath: "missing.path") == nil)
    }
}
