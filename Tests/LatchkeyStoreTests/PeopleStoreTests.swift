import Foundation
import LatchkeyModel
import LatchkeyStore
import Testing

/// People, their sign-in, their sessions at `/me` and their consents in the store contract, on every available engine.
@Suite("People store contract")
struct PeopleStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let issuer = "https://id.acme.example"

    func ref(_ s: String) -> OwnerRef { try! OwnerRef(parsing: s) }

    var ana: OwnerRef { ref("user:acme/ana") }
    var ben: OwnerRef { ref("user:acme/ben") }
    var cy: OwnerRef { ref("user:globex/cy") }

    /// Two orgs and three people: ana and ben at acme, cy at globex.
    func seedPeople(_ store: any LatchkeyStorage) async throws {
        for s in ["org:acme", "org:globex", "user:acme/ana", "user:acme/ben", "user:globex/cy"] {
            try await store.createOwner(ref(s), at: now)
        }
    }

    func signInState(_ hash: String, expiresAt: Date) -> SignInState {
        SignInState(
            stateHash: hash, org: "acme", nonceHash: "nonce-\(hash)", sealedVerifier: [9, 8, 7], browserBindingHash: "binding-\(hash)",
            next: "/me", createdAt: now, expiresAt: expiresAt)
    }

    @Test(arguments: StoreEngine.sql) func theMigrationIsVersion10(_ engine: StoreEngine) async throws {
        let store = try await engine.makeMigratedStore()
        #expect(try await store.appliedMigrations().contains("v10: people, sign-in, person sessions and consents"))
    }

    // MARK: People

    @Test(arguments: StoreEngine.available) func anEmailIsUniquePerOrgButNotAcrossOrgsAndLookupsIgnoreCase(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedPeople(store)
        try await store.setPerson(ana, email: "Ana@Example.COM")
        #expect(try await store.person(ana) == PersonRecord(person: ana, email: "ana@example.com"))
        #expect(try await store.person(org: "acme", email: "ANA@example.com")?.person == ana)
        #expect(try await store.person(org: "globex", email: "ana@example.com") == nil)

        do {
            try await store.setPerson(ben, email: "ana@EXAMPLE.com")
            Issue.record("a second person of the org got the same email")
        } catch let error as LatchkeyError {
            #expect(error.code == .conflict)
            #expect(error.field == "email")
        }
        #expect(try await store.person(ben) == nil)
        // Another org may have a person with the same email.
        try await store.setPerson(cy, email: "ana@example.com")
        #expect(try await store.person(org: "globex", email: "ana@example.com")?.person == cy)
        // Setting one's own email again is no conflict.
        try await store.setPerson(ana, email: "ana@example.com")

        // Replacing or clearing an email frees it for someone else.
        try await store.setPerson(ana, email: nil)
        #expect(try await store.person(ana) == PersonRecord(person: ana, email: nil))
        #expect(try await store.person(org: "acme", email: "ana@example.com") == nil)
        try await store.setPerson(ben, email: "ana@example.com")
        #expect(try await store.person(org: "acme", email: "ana@example.com")?.person == ben)
    }

    @Test(arguments: StoreEngine.available) func onlyAnExistingUserCanBeAPerson(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedPeople(store)
        for owner in [ref("user:acme/nobody"), ref("org:acme")] {
            do {
                try await store.setPerson(owner, email: "x@example.com")
                Issue.record("\(owner) became a person")
            } catch let error as LatchkeyError {
                #expect(error.code == .notFound, "\(owner)")
            }
            #expect(try await store.person(owner) == nil)
        }
    }

    @Test(arguments: StoreEngine.available) func aSubjectIsRecordedOnceAndNeverForASecondPerson(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedPeople(store)
        try await store.setPerson(ana, email: "ana@example.com")
        try await store.setPerson(ben, email: nil)

        #expect(try await store.recordSubject(ana, issuer: issuer, subject: "s-ana"))
        #expect(try await store.person(org: "acme", issuer: issuer, subject: "s-ana") == PersonRecord(person: ana, email: "ana@example.com", issuer: issuer, subject: "s-ana"))
        // Once recorded, a person's subject stays.
        #expect(try await !store.recordSubject(ana, issuer: issuer, subject: "s-other"))
        #expect(try await store.person(ana)?.subject == "s-ana")
        // Nobody else may take it.
        #expect(try await !store.recordSubject(ben, issuer: issuer, subject: "s-ana"))
        #expect(try await store.person(ben) == PersonRecord(person: ben, email: nil))
        // The same subject at another issuer is another identity.
        #expect(try await store.recordSubject(ben, issuer: "https://other.example", subject: "s-ana"))
        #expect(try await store.person(org: "acme", issuer: "https://other.example", subject: "s-ana")?.person == ben)
        #expect(try await store.person(org: "acme", issuer: issuer, subject: "unknown") == nil)
        // A person with no record yet has nothing to record a subject on.
        #expect(try await !store.recordSubject(cy, issuer: issuer, subject: "s-cy"))
        #expect(try await store.person(cy) == nil)
        // One account at an identity provider may be a person in another org too, and is found per org.
        try await store.setPerson(cy, email: "ana@example.com")
        #expect(try await store.recordSubject(cy, issuer: issuer, subject: "s-ana"))
        #expect(try await store.person(org: "globex", issuer: issuer, subject: "s-ana")?.person == cy)
        #expect(try await store.person(org: "acme", issuer: issuer, subject: "s-ana")?.person == ana)
    }

    @Test(arguments: StoreEngine.available) func ofPeopleRacingForOneSubjectOneGetsIt(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedPeople(store)
        try await store.setPerson(ana, email: nil)
        try await store.setPerson(ben, email: nil)
        let recorded = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<10 { group.addTask { try await store.recordSubject(i.isMultiple(of: 2) ? ana : ben, issuer: issuer, subject: "s1") } }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(recorded == 1)
        let holders = [try await store.person(ana)?.subject, try await store.person(ben)?.subject].compactMap { $0 }
        #expect(holders == ["s1"])
    }

    @Test(arguments: StoreEngine.available) func aSignInProviderRoundTripsWithItsSealedSecret(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let sealed = SignInProvider(org: "acme", issuer: issuer, clientID: "latchkey", sealedClientSecret: [0, 1, 2, 254, 255], updatedAt: now)
        try await store.putSignInProvider(sealed)
        #expect(try await store.signInProvider(org: "acme") == sealed)
        #expect(try await store.signInProvider(org: "globex") == nil)
        // Putting again replaces it, down to a public client without a secret.
        let publicClient = SignInProvider(org: "acme", issuer: "https://id2.acme.example", clientID: "lk", sealedClientSecret: nil, updatedAt: now + 60)
        try await store.putSignInProvider(publicClient)
        #expect(try await store.signInProvider(org: "acme") == publicClient)
    }

    // MARK: Sign-in links and states

    @Test(arguments: StoreEngine.available) func aSignInLinkSignsInOnceEvenUnderConcurrentUse(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedPeople(store)
        try await store.createSignInLink(tokenHash: "l1", person: ana, createdAt: now, expiresAt: now + 600)
        let uses = try await withThrowingTaskGroup(of: SignInLinkUse.self) { group in
            for _ in 0..<10 { group.addTask { try await store.useSignInLink(tokenHash: "l1", at: now + 1) } }
            return try await group.reduce(into: [SignInLinkUse]()) { $0.append($1) }
        }
        #expect(uses.filter { $0 == .person(ana) }.count == 1)
        #expect(uses.filter { $0 == .alreadyUsed }.count == 9)
    }

    @Test(arguments: StoreEngine.available) func aSignInLinkSaysWhyItCannotBeUsed(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedPeople(store)
        try await store.createSignInLink(tokenHash: "l1", person: ana, createdAt: now, expiresAt: now + 600)
        #expect(try await store.useSignInLink(tokenHash: "l1", at: now + 600) == .expired)
        #expect(try await store.useSignInLink(tokenHash: "l1", at: now + 900) == .expired)
        // Those tries changed nothing: before its expiry the link still works, once.
        #expect(try await store.useSignInLink(tokenHash: "l1", at: now + 599) == .person(ana))
        #expect(try await store.useSignInLink(tokenHash: "l1", at: now + 599) == .alreadyUsed)
        #expect(try await store.useSignInLink(tokenHash: "unknown", at: now) == .unknown)
        // A link names an existing person, and a hash is stored once.
        await #expect(throws: LatchkeyError.self) {
            try await store.createSignInLink(tokenHash: "l2", person: ref("user:acme/nobody"), createdAt: now, expiresAt: now + 600)
        }
        await #expect(throws: LatchkeyError.self) {
            try await store.createSignInLink(tokenHash: "l1", person: ben, createdAt: now, expiresAt: now + 600)
        }
    }

    @Test(arguments: StoreEngine.available) func aSignInStateIsReadWithoutSpendingItAndConsumedOnce(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let state = signInState("st1", expiresAt: now + 600)
        try await store.createSignInState(state)
        #expect(try await store.signInState(hash: "st1") == state)
        #expect(try await store.signInState(hash: "st1") == state)  // still there
        let consumed = try await withThrowingTaskGroup(of: SignInState?.self) { group in
            for _ in 0..<10 { group.addTask { try await store.consumeSignInState(hash: "st1") } }
            return try await group.reduce(into: [SignInState]()) { if let s = $1 { $0.append(s) } }
        }
        #expect(consumed == [state])
        #expect(try await store.signInState(hash: "st1") == nil)
        #expect(try await store.consumeSignInState(hash: "unknown") == nil)
        // A hash is stored once.
        try await store.createSignInState(state)
        await #expect(throws: LatchkeyError.self) { try await store.createSignInState(state) }
    }

    @Test(arguments: StoreEngine.available) func purgingDropsExpiredSignInStatesAndLinks(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await seedPeople(store)
        try await store.createSignInState(signInState("old", expiresAt: now + 60))
        try await store.createSignInState(signInState("new", expiresAt: now + 6000))
        try await store.createSignInLink(tokenHash: "old", person: ana, createdAt: now, expiresAt: now + 60)
        try await store.createSignInLink(tokenHash: "new", person: ana, createdAt: now, expiresAt: now + 6000)
        #expect(try await store.purgeExpired(before: now + 600) == 2)
        #expect(try await store.signInState(hash: "old") == nil)
        #expect(try await store.signInState(hash: "new") != nil)
        #expect(try await store.useSignInLink(tokenHash: "old", at: now + 600) == .unknown)
        #expect(try await store.useSignInLink(tokenHash: "new", at: now + 600) == .person(ana))
    }

    // MARK: Person sessions

    @Test(arguments: StoreEngine.available) func aPersonSessionIsFoundUntilItExpiresOrIsDeleted(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await store.createPersonSession(idHash: "h1", person: ana, expiresAt: now + 60, now: now)
        let found = try await store.personSession(idHash: "h1", now: now + 59)
        #expect(found?.person == ana)
        #expect(found?.expiresAt == now + 60)
        #expect(try await store.personSession(idHash: "h1", now: now + 60) == nil)
        // Deleted on the way: even a clock that goes back does not bring it back.
        #expect(try await store.personSession(idHash: "h1", now: now) == nil)
        #expect(try await store.personSession(idHash: "unknown", now: now) == nil)

        try await store.createPersonSession(idHash: "h2", person: ana, expiresAt: now + 60, now: now)
        await #expect(throws: LatchkeyError.self) { try await store.createPersonSession(idHash: "h2", person: ben, expiresAt: now + 90, now: now) }
        try await store.deletePersonSession(idHash: "h2")
        #expect(try await store.personSession(idHash: "h2", now: now) == nil)
        try await store.deletePersonSession(idHash: "h2")  // already gone: no error
    }

    @Test(arguments: StoreEngine.available) func startingAPersonSessionPrunesExpiredOnes(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await store.createPersonSession(idHash: "old", person: ana, expiresAt: now + 10, now: now)
        try await store.createPersonSession(idHash: "live", person: ana, expiresAt: now + 100, now: now)
        try await store.createPersonSession(idHash: "new", person: ben, expiresAt: now + 300, now: now + 20)
        // Gone, not just expired: a clock that goes back does not find it.
        #expect(try await store.personSession(idHash: "old", now: now) == nil)
        #expect(try await store.personSession(idHash: "live", now: now + 20)?.person == ana)
        #expect(try await store.personSession(idHash: "new", now: now + 20)?.person == ben)
    }

    @Test(arguments: StoreEngine.available) func endingSessionsUnderAUserOrAnOrg(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        for (hash, person) in [("ana1", ana), ("ana2", ana), ("ben1", ben), ("cy1", cy)] {
            try await store.createPersonSession(idHash: hash, person: person, expiresAt: now + 600, now: now)
        }
        #expect(try await store.endPersonSessions(under: ana) == 2)
        #expect(try await store.personSession(idHash: "ana1", now: now) == nil)
        #expect(try await store.personSession(idHash: "ben1", now: now)?.person == ben)
        // People live directly under their org: no team, project or agent covers them.
        for owner in ["team:acme/growth", "project:acme/growth/crm", "agent:acme/growth/crm/scout"] {
            #expect(try await store.endPersonSessions(under: ref(owner)) == 0, "\(owner)")
        }
        #expect(try await store.endPersonSessions(under: ref("org:acme")) == 1)
        #expect(try await store.personSession(idHash: "ben1", now: now) == nil)
        #expect(try await store.personSession(idHash: "cy1", now: now)?.person == cy)
        #expect(try await store.endPersonSessions(under: ref("org:globex")) == 1)
        #expect(try await store.endPersonSessions(under: ref("org:globex")) == 0)
    }

    @Test(arguments: StoreEngine.available) func aPersonSessionMessageIsTakenOnceEvenByConcurrentTakers(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        try await store.createPersonSession(idHash: "h1", person: ana, expiresAt: now + 60, now: now)
        #expect(try await store.takePersonSessionMessage(idHash: "h1") == nil)
        try await store.setPersonSessionMessage(idHash: "h1", sealed: [1, 2])
        try await store.setPersonSessionMessage(idHash: "h1", sealed: [3, 4, 5])
        let taken = try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            for _ in 0..<8 { group.addTask { try await store.takePersonSessionMessage(idHash: "h1") } }
            return try await group.reduce(into: [[UInt8]]()) { if let m = $1 { $0.append(m) } }
        }
        #expect(taken == [[3, 4, 5]])
        // A message for a missing session goes nowhere.
        try await store.setPersonSessionMessage(idHash: "missing", sealed: [1])
        #expect(try await store.takePersonSessionMessage(idHash: "missing") == nil)
    }

    // MARK: Consents

    @Test(arguments: StoreEngine.available) func aConsentIsGrantedReplacedAndWithdrawn(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let connection = ConnectionID(rawValue: "conn_ana_github")
        let agent = ref("agent:acme/growth/crm/scout")
        let first = Consent(connectionID: connection, grantee: agent, person: ana, grantedAt: now, expiresAt: nil)
        try await store.grantConsent(first)
        #expect(try await store.consents(person: ana) == [first])
        // Granting again for the same connection and grantee replaces it.
        let renewed = Consent(connectionID: connection, grantee: agent, person: ana, grantedAt: now + 5, expiresAt: now + 3600)
        try await store.grantConsent(renewed)
        #expect(try await store.consents(person: ana) == [renewed])
        #expect(try await store.withdrawConsent(connectionID: connection, grantee: agent))
        #expect(try await !store.withdrawConsent(connectionID: connection, grantee: agent))
        #expect(try await store.consents(person: ana).isEmpty)
        #expect(try await store.liveConsent(connectionID: connection, grantees: [agent], now: now) == nil)
    }

    @Test(arguments: StoreEngine.available) func aLiveConsentHonoursExpiryAndTheGranteeList(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let connection = ConnectionID(rawValue: "conn_ana_github")
        let agent = ref("agent:acme/growth/crm/scout")
        let project = ref("project:acme/growth/crm")
        let chain = [agent, project]
        let forProject = Consent(connectionID: connection, grantee: project, person: ana, grantedAt: now, expiresAt: now + 100)
        try await store.grantConsent(forProject)
        #expect(try await store.liveConsent(connectionID: connection, grantees: chain, now: now + 99) == forProject)
        #expect(try await store.liveConsent(connectionID: connection, grantees: chain, now: now + 100) == nil)
        #expect(try await store.liveConsent(connectionID: connection, grantees: [agent], now: now) == nil)
        #expect(try await store.liveConsent(connectionID: ConnectionID(rawValue: "conn_other"), grantees: chain, now: now) == nil)
        #expect(try await store.liveConsent(connectionID: connection, grantees: [], now: now) == nil)

        // Until withdrawn, and named first: the agent's own consent answers before its project's.
        let forAgent = Consent(connectionID: connection, grantee: agent, person: ana, grantedAt: now + 1, expiresAt: nil)
        try await store.grantConsent(forAgent)
        #expect(try await store.liveConsent(connectionID: connection, grantees: chain, now: now + 50) == forAgent)
        #expect(try await store.liveConsent(connectionID: connection, grantees: [project, agent], now: now + 50) == forProject)
        #expect(try await store.liveConsent(connectionID: connection, grantees: chain, now: now + 1_000_000) == forAgent)
    }

    @Test(arguments: StoreEngine.available) func aPersonsConsentsAreListedNewestFirstExpiredOnesIncluded(_ engine: StoreEngine) async throws {
        let store = try await engine.makeStore()
        let agent = ref("agent:acme/growth/crm/scout")
        let project = ref("project:acme/growth/crm")
        let oldest = Consent(connectionID: ConnectionID(rawValue: "conn_a"), grantee: agent, person: ana, grantedAt: now, expiresAt: now + 1)
        let middle = Consent(connectionID: ConnectionID(rawValue: "conn_b"), grantee: project, person: ana, grantedAt: now + 10, expiresAt: nil)
        let newest = Consent(connectionID: ConnectionID(rawValue: "conn_a"), grantee: project, person: ana, grantedAt: now + 20, expiresAt: nil)
        let bens = Consent(connectionID: ConnectionID(rawValue: "conn_c"), grantee: agent, person: ben, grantedAt: now + 30, expiresAt: nil)
        for consent in [middle, bens, oldest, newest] { try await store.grantConsent(consent) }
        #expect(try await store.consents(person: ana) == [newest, middle, oldest])
        #expect(try await store.consents(person: ben) == [bens])
        #expect(try await store.consents(person: cy).isEmpty)
    }
}
