import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyAPI
import LatchkeyModel
import Logging

/// JSON responses and the one place where errors become HTTP.
enum APIResponse {
    /// A JSON response from an encodable value.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONEncoder.latchkeyAPI.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }

    /// The HTTP status for an error code.
    static func status(for code: LatchkeyError.Code) -> HTTPResponse.Status {
        switch code {
        case .invalidRequest, .invalidOwner, .invalidState, .returnToNotAllowed, .issuerMismatch, .invalidAPIKey: .badRequest
        case .unauthenticated: .unauthorized
        case .forbidden, .accessDenied: .forbidden
        case .notFound, .unknownProvider: .notFound
        case .conflict, .appNotConfigured, .notConnected, .keySourceReadonly, .replicasNotReady, .accountMismatch: .conflict
        case .wrongPerson, .consentRequired: .forbidden
        case .reauthRequired: HTTPResponse.Status(code: 424, reasonPhrase: "Failed Dependency")
        case .creditsExhausted: HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required")
        case .toolNotGranted, .notGranted, .exceedsParent: .forbidden
        case .payloadTooLarge: .contentTooLarge
        case .rateLimited: .tooManyRequests
        case .serverBusy: .serviceUnavailable
        case .sessionExpired, .sessionUsed, .sessionRevoked, .approvalExpired: .gone
        case .approvalRequired: .accepted
        case .approvalDeclined: .forbidden
        case .providerError, .invalidProviderResponse, .providerUnavailable: .badGateway
        case .providerTimeout: .gatewayTimeout
        default: .internalServerError
        }
    }

    /// `{"error":{"code","message","field"?}}` with `Latchkey-Error: <code>`; for `approval_required`, also
    /// `"approval":{"id","url","expires_at"}`.
    static func error(_ error: LatchkeyError) -> Response {
        var body: [String: JSONValue] = ["code": .string(error.code.rawValue), "message": .string(error.message)]
        if let field = error.field { body["field"] = .string(field) }
        if let oauth = error.oauthError { body["provider_error"] = .string(oauth) }
        if let url = error.connectURL { body["connect_url"] = .string(url) }
        if let expires = error.connectURLExpiresAt { body["connect_url_expires_at"] = .string(ISO8601DateFormatter().string(from: expires)) }
        if let url = error.consentURL { body["consent_url"] = .string(url) }
        var answer: [String: JSONValue] = ["error": .object(body)]
        if let approval = error.approval {
            answer["approval"] = .object([
                "id": .string(approval.id), "url": .string(approval.url),
                "expires_at": .string(ISO8601DateFormatter().string(from: approval.expiresAt)),
            ])
        }
        var response = json(JSONValue.object(answer), status: status(for: error.code))
        response.headers[.latchkeyError] = error.code.rawValue
        if error.code == .unauthenticated { response.headers[.wwwAuthenticate] = "Bearer realm=\"latchkey\"" }
        if let seconds = error.retryAfter { response.headers[.retryAfter] = String(seconds) }
        return response
    }
}

extension HTTPField.Name {
    static let latchkeyError = HTTPField.Name("Latchkey-Error")!
    static let latchkeyRequestID = HTTPField.Name("Latchkey-Request-Id")!
}

/// Turns every error thrown below it into a JSON error response; unknown errors become `internal_error`
/// without detail, so nothing internal (or secret) leaks.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = LatchkeyContext

    @concurrent func handle(_ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response) async throws -> Response {
        await Self.answering(request, logger: context.logger) { try await next(request, context) }
    }

    /// The response of `respond`, or the error it threw as a JSON error response.
    static func answering(_ request: Request, logger: Logger, _ respond: () async throws -> Response) async -> Response {
        do {
            return try await respond()
        } catch {
            return response(to: error, of: request, logger: logger)
        }
    }

    /// `error`, thrown while answering `request`, as a JSON error response.
    static func response(to error: any Error, of request: Request, logger: Logger) -> Response {
        switch error {
        case let error as LatchkeyError:
            // Latchkey's own internal errors (a damaged row among them, named with its id) are logged; the request
            // fails alone and every other keeps being served.
            if error.code == .internalError {
                logger.error("internal error", metadata: ["message": "\(error.message)", "path": "\(request.uri.path)"])
            }
            return APIResponse.error(error)
        case let error as HTTPError:
            let code: LatchkeyError.Code =
                switch error.status {
                case .notFound: .notFound
                case .contentTooLarge: .invalidRequest
                case .methodNotAllowed: .invalidRequest
                default: error.status.code < 500 ? .invalidRequest : .internalError
                }
            let message = error.status == .notFound ? "no route for \(request.method) \(request.uri.path)" : (error.body ?? error.status.reasonPhrase)
            return APIResponse.error(LatchkeyError(code, message))
        default:
            logger.error("unhandled error", metadata: ["type": "\(type(of: error))"])
            return APIResponse.error(LatchkeyError(.internalError, "an internal error occurred"))
        }
    }
}

/// A type-erased encodable, for small mixed JSON answers.
struct AnyEncodable: Encodable {
    private let encodeValue: (any Encoder) throws -> Void
    init<T: Encodable>(_ value: T) { encodeValue = value.encode }
    func encode(to encoder: any Encoder) throws { try encodeValue(encoder) }
}
