import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyModel
import LatchkeyOAuth
import Testing

/// The credential goes on the request as the manifest's format says, and replaces whatever the caller put under the
/// same name, in any case: a caller cannot send a second key beside Latchkey's.
@Suite struct CredentialInjectionTests {
    let credential = Credential(accessToken: "tok", apiKey: "real-key", username: "ann", password: "pw")

    @Test func aHeaderReplacesTheCallersOfTheSameNameInAnyCase() throws {
        var request = OutboundRequest(
            url: "https://api.example.com/x",
            headers: [OutboundHeader(name: "x-API-key", value: "forged"), OutboundHeader(name: "Accept", value: "*/*")])
        try CredentialInjection.apply(.header(name: "X-Api-Key", format: "key {api_key}"), credential: credential, to: &request)
        #expect(request.headers == [OutboundHeader(name: "Accept", value: "*/*"), OutboundHeader(name: "X-Api-Key", value: "key real-key")])
    }

    @Test func basicAuthReplacesAnyAuthorization() throws {
        var request = OutboundRequest(url: "https://api.example.com/x", headers: [OutboundHeader(name: "authorization", value: "Bearer forged")])
        try CredentialInjection.apply(.basic(username: "{username}", password: "{password}"), credential: credential, to: &request)
        #expect(request.headers == [OutboundHeader(name: "Authorization", value: "Basic YW5uOnB3")])
    }

    @Test func aQueryParameterIsAppendedEncoded() throws {
        var request = OutboundRequest(url: "https://api.example.com/x?a=1")
        try CredentialInjection.apply(.query(name: "api key", format: "{api_key}&x"), credential: credential, to: &request)
        #expect(request.url == "https://api.example.com/x?a=1&api%20key=real-key%26x")
    }

    @Test func aCredentialWithoutTheFormatsValueIsRefused() {
        var request = OutboundRequest(url: "https://api.example.com/x")
        #expect(throws: LatchkeyError.self) {
            try CredentialInjection.apply(.header(name: "X-Api-Key", format: "{api_key}"), credential: Credential(accessToken: "t"), to: &request)
        }
        #expect(request.headers.isEmpty)
    }

    @Test(arguments: ["a\r\nX-Evil: 1", "a\nb", "a\u{0}b"])
    func aCredentialThatWouldSplitTheHeaderIsRefused(_ key: String) {
        var request = OutboundRequest(url: "https://api.example.com/x")
        #expect(throws: LatchkeyError.self) {
            try CredentialInjection.apply(.header(name: "X-Api-Key", format: "{api_key}"), credential: Credential(apiKey: key), to: &request)
        }
    }
}
