import HTTPTypes
import Hummingbird
import LatchkeyHTTP
import LatchkeyModel
import LatchkeyProxy

/// The caller's request body on its way to the provider.
///
/// A body whose `Content-Length` is at most ``replayLimit`` is read into memory first, so the call can be
/// retried. A larger one, or one sent chunked, is streamed: a task copies it into an ``OutboundUpload`` while
/// curl sends it, and the call goes out once. Either way, more than ``ProxyService/maxBodyBytes`` is refused
/// with 413 `payload_too_large`: up front when `Content-Length` says so, otherwise by aborting the upload.
struct ProxyRequestBody {
    /// The largest body held in memory for retries.
    static let replayLimit = 256 * 1024

    let body: ProxyService.Body
    /// The task copying a streamed body; `nil` for a buffered one.
    let copier: Task<Outcome, Never>?

    enum Outcome: Sendable {
        case complete
        case tooLarge
        case failed
    }

    /// Reads or starts streaming `request`'s body.
    static func start(_ request: Request) async throws -> ProxyRequestBody {
        let cap = ProxyService.maxBodyBytes
        let declared = request.headers[.contentLength].map { Int($0) }
        if let declared, declared == nil {
            throw LatchkeyError(.invalidRequest, "headers: Content-Length is not a number", field: "headers")
        }
        let length = declared ?? nil
        if let length, length > cap {
            throw LatchkeyError(.payloadTooLarge, "the request body exceeds \(cap) bytes", field: "body")
        }
        let chunked = request.headers[.transferEncoding] != nil
        if !chunked && (length ?? 0) == 0 {
            return ProxyRequestBody(body: bodyless(request.method), copier: nil)
        }
        if let length, length <= replayLimit {
            do {
                let buffer = try await request.body.collect(upTo: cap)
                return ProxyRequestBody(body: .bytes(Array(buffer.readableBytesView)), copier: nil)
            } catch {
                throw LatchkeyError(.payloadTooLarge, "the request body exceeds \(cap) bytes", field: "body")
            }
        }
        let upload = OutboundUpload(length: length)
        let source = request.body
        let copier = Task<Outcome, Never> {
            var total = 0
            do {
                for try await chunk in source {
                    total += chunk.readableBytes
                    guard total <= cap else {
                        upload.fail()
                        return .tooLarge
                    }
                    try await upload.write(Array(chunk.readableBytesView))
                }
                upload.finish()
                return .complete
            } catch {
                upload.fail()
                return .failed
            }
        }
        return ProxyRequestBody(body: .streamed(upload), copier: copier)
    }

    /// `nil` for methods that carry no body by convention, an empty body otherwise.
    private static func bodyless(_ method: HTTPRequest.Method) -> ProxyService.Body {
        [.get, .head, .delete, .options].contains(method) ? .none : .bytes([])
    }

    /// Stops a streamed body that will not be sent (the call failed before reaching the provider).
    func abandon() {
        if case .streamed(let upload) = body { upload.cancel() }
    }

    /// Maps a failed call to 413 when the cause was a body past the cap.
    func explain(_ error: any Error) async -> any Error {
        guard let copier else { return error }
        if await copier.value == .tooLarge {
            return LatchkeyError(.payloadTooLarge, "the request body exceeds \(ProxyService.maxBodyBytes) bytes", field: "body")
        }
        return error
    }
}
