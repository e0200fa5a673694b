import HTTPTypes
import Hummingbird
import Testing

@testable import LatchkeyServer

/// `Authorization: Bearer <token>`: the scheme in any case, one space, the token without surrounding blanks.
@Suite struct BearerTokenTests {
    static func token(_ authorization: String?) -> String? {
        var fields = HTTPFields()
        if let authorization { fields[.authorization] = authorization }
        return Request(
            head: HTTPRequest(method: .get, scheme: "http", authority: "127.0.0.1", path: "/v1/agents", headerFields: fields),
            body: RequestBody(buffer: ByteBuffer())
        ).bearerToken
    }

    @Test(arguments: [
        ("Bearer lk_agent_abc", "lk_agent_abc"), ("bearer lk_agent_abc", "lk_agent_abc"), ("BEARER lk_agent_abc", "lk_agent_abc"),
        ("bEaReR  lk_agent_abc \t", "lk_agent_abc"), ("Bearer a b", "a b"),
    ])
    func aBearerTokenIsRead(header: String, token: String) {
        #expect(Self.token(header) == token)
    }

    @Test(arguments: [nil, "", "Bearer", "Bearer ", "Bearer  \t ", "Basic dXNlcjpwYXNz", "Bearerx token", "Bearer\ttoken", "Bearers token", "Token abc", "Béarer x"])
    func anythingElseIsNoBearerToken(header: String?) {
        #expect(Self.token(header) == nil)
    }

    /// Two `Authorization` fields read as HTTP joins them, never as the first alone: the joined value is no agent's key.
    @Test func twoAuthorizationFieldsAreReadJoined() {
        let fields: HTTPFields = [.authorization: "Bearer lk_agent_abc", .accept: "*/*", .authorization: "Bearer lk_agent_def"]
        #expect(fields.value(of: .authorization) == "Bearer lk_agent_abc, Bearer lk_agent_def")
        #expect(fields.value(of: .accept) == "*/*")
        #expect(fields.value(of: .cookie) == nil)
        let request = Request(
            head: HTTPRequest(method: .get, scheme: "http", authority: "127.0.0.1", path: "/v1/agents", headerFields: fields),
            body: RequestBody(buffer: ByteBuffer()))
        #expect(request.bearerToken == "lk_agent_abc, Bearer lk_agent_def")
    }
}
