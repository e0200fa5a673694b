import Foundation
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyProxy
import Testing

func json(_ s: String) -> JSONValue { JSONValue.parse(Array(s.utf8))! }

let createIssue = ToolSpec(
    name: "create_issue", description: "d", access: .write, method: "POST", path: "/repos/{owner}/{repo}/issues",
    query: ["state": "{state}", "fixed": "v-{state}"], body: json(#"{"title":"{title}","labels":"{labels}","meta":{"n":"{n}"}}"#),
    bodyFormat: .json, headers: [:],
    input: json(#"{"type":"object","required":["owner","repo","title"],"additionalProperties":false,"properties":{"owner":{"type":"string"},"repo":{"type":"string"},"title":{"type":"string","minLength":1},"labels":{"type":"array","items":{"type":"string"}},"state":{"type":"string","enum":["open","closed"]},"n":{"type":"integer","minimum":1}}}"#))

@Suite("Tool requests")
struct ToolRequestTests {
    @Test func argumentsFillPathQueryAndBodyKeepingJSONTypes() throws {
        let r = try ToolRequest(tool: createIssue, arguments: json(#"{"owner":"o w","repo":"r","title":"T","labels":["a"],"n":2,"state":"open"}"#))
        #expect(r.method == "POST" && r.path == "repos/o%20w/r/issues")
        #expect(r.query == "fixed=v-open&state=open")
        #expect(JSONValue.parse(r.body!) == json(#"{"title":"T","labels":["a"],"meta":{"n":2}}"#))
    }

    @Test func absentOptionalArgumentsDropTheirKeysAndParameters() throws {
        let r = try ToolRequest(tool: createIssue, arguments: json(#"{"owner":"o","repo":"r","title":"T"}"#))
        #expect(r.query == nil)
        #expect(JSONValue.parse(r.body!) == json(#"{"title":"T"}"#))
    }

    @Test func pathArgumentsCannotAddSegmentsQueriesOrFragments() throws {
        let r = try ToolRequest(tool: createIssue, arguments: json(#"{"owner":"../x/y?z#w","repo":"r","title":"T"}"#))
        #expect(r.path == "repos/..%2Fx%2Fy%3Fz%23w/r/issues")
    }

    @Test(arguments: [
        (#"{"repo":"r","title":"T"}"#, "arguments.owner"),
        (#"{"owner":"o","repo":"r","title":""}"#, "arguments.title"),
        (#"{"owner":"o","repo":"r","title":"T","state":"merged"}"#, "arguments.state"),
        (#"{"owner":"o","repo":"r","title":"T","n":0}"#, "arguments.n"),
        (#"{"owner":"o","repo":"r","title":"T","n":1.5}"#, "arguments.n"),
        (#"{"owner":"o","repo":"r","title":"T","labels":[1]}"#, "arguments.labels[0]"),
        (#"{"owner":"o","repo":"r","title":"T","extra":1}"#, "arguments.extra"),
        (#"{"owner":"..","repo":"r","title":"T"}"#, "arguments.owner"),
        (#"{"owner":["o"],"repo":"r","title":"T"}"#, "arguments.owner"),
    ])
    func invalidArgumentsNameTheField(arguments: String, field: String) {
        do {
            _ = try ToolRequest(tool: createIssue, arguments: json(arguments))
            Issue.record("accepted \(arguments)")
        } catch {
            #expect(error.code == .invalidRequest)
            #expect(error.field == field, "\(error.message)")
        }
    }
}

@Suite("Retry policy")
struct RetryPolicyTests {
    let policy = RetryPolicy()

    @Test func retryableStatusesOnIdempotentMethodsAreRetriedWithGrowingBackoff() {
        let first = policy.delay(afterAttempt: 1, status: 503, method: "GET", retryAfter: nil, waited: .zero, random: 1)
        let second = policy.delay(afterAttempt: 2, status: 503, method: "GET", retryAfter: nil, waited: .zero, random: 1)
        #expect(first == .milliseconds(200) && second == .milliseconds(400))
        #expect(policy.delay(afterAttempt: 3, status: 503, method: "GET", retryAfter: nil, waited: .zero) == nil)
    }

    @Test(arguments: [(200, "GET"), (500, "GET"), (404, "GET"), (503, "POST"), (503, "PATCH")])
    func othersAreNotRetried(status: Int, method: String) {
        #expect(policy.delay(afterAttempt: 1, status: status, method: method, retryAfter: nil, waited: .zero) == nil)
    }

    @Test func retryAfterIsHonouredUpToTheCap() {
        #expect(policy.delay(afterAttempt: 1, status: 429, method: "GET", retryAfter: "2", waited: .zero) == .seconds(2))
        #expect(policy.delay(afterAttempt: 1, status: 429, method: "GET", retryAfter: "60", waited: .zero) == nil)
        // 1_800_000_000 is 2027-01-15T08:00:00Z; an HTTP date three seconds later is a three-second wait.
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(RetryPolicy.parseRetryAfter("Fri, 15 Jan 2027 08:00:03 GMT", now: now) == .seconds(3))
        #expect(RetryPolicy.parseRetryAfter("soon", now: now) == nil)
    }

    @Test func theTotalWaitIsBounded() {
        #expect(policy.delay(afterAttempt: 1, status: 503, method: "GET", retryAfter: "5", waited: .seconds(2)) == nil)
    }

    /// Every proxied call asks; only one that will be retried draws the jitter or reads the time.
    @Test func theJitterAndTheTimeAreReadOnlyForARetry() {
        var reads = 0
        func jitter() -> Double {
            reads += 1
            return 1
        }
        func now() -> Date {
            reads += 1
            return Date(timeIntervalSince1970: 1_800_000_000)
        }
        for (status, method) in [(200, "GET"), (404, "GET"), (503, "POST")] {
            #expect(policy.delay(afterAttempt: 1, status: status, method: method, retryAfter: "1", waited: .zero, now: now(), random: jitter()) == nil)
        }
        #expect(policy.delay(afterAttempt: 3, status: 503, method: "GET", retryAfter: nil, waited: .zero, now: now(), random: jitter()) == nil)
        #expect(reads == 0)
        #expect(policy.delay(afterAttempt: 1, status: 503, method: "GET", retryAfter: nil, waited: .zero, now: now(), random: jitter()) == .milliseconds(200))
        #expect(reads == 1)
        #expect(policy.delay(afterAttempt: 1, status: 429, method: "GET", retryAfter: "Fri, 15 Jan 2027 08:00:02 GMT", waited: .zero, now: now(), random: jitter()) == .seconds(2))
        #expect(reads == 2)
    }
}

@Suite("Rate-limit headers")
struct RateLimitReadingTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func response(_ headers: [(String, String)], status: Int = 200) -> OutboundResponse {
        OutboundResponse(status: status, headers: headers.map { OutboundHeader(name: $0.0, value: $0.1) })
    }

    @Test func aSpentWindowGivesItsReset() {
        let epoch = RateLimitSpec(remainingHeader: "x-ratelimit-remaining", resetHeader: "x-ratelimit-reset", resetFormat: .epochSeconds)
        #expect(RateLimitReading.exhaustedUntil(epoch, response: response([("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "1800000060")]), now: now)
            == now.addingTimeInterval(60))
        let delta = RateLimitSpec(remainingHeader: "x-remaining", resetHeader: "x-reset", resetFormat: .deltaSeconds)
        #expect(RateLimitReading.exhaustedUntil(delta, response: response([("x-remaining", "0, 1400"), ("x-reset", "7, 2000")]), now: now)
            == now.addingTimeInterval(7))
    }

    @Test func callsLeftOrMissingHeadersGiveNothing() {
        let spec = RateLimitSpec(remainingHeader: "r", resetHeader: "s", resetFormat: .deltaSeconds)
        #expect(RateLimitReading.exhaustedUntil(spec, response: response([("r", "3"), ("s", "10")]), now: now) == nil)
        #expect(RateLimitReading.exhaustedUntil(spec, response: response([("r", "0")]), now: now) == nil)
        #expect(RateLimitReading.retryAfterUntil(response([("Retry-After", "4")], status: 429), now: now) == now.addingTimeInterval(4))
        #expect(RateLimitReading.retryAfterUntil(response([("Retry-After", "4")], status: 503), now: now) == nil)
    }
}
