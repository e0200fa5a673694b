import Foundation

/// The OpenAPI description of the routes, shipped as a resource and served at `GET /openapi.yaml`.
public enum OpenAPIDocument {
    public static let text: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let data = try? Data(contentsOf: url)
        else { return "openapi: 3.1.0\ninfo: {title: Latchkey, version: unknown}\npaths: {}\n" }
        return String(decoding: data, as: UTF8.self)
    }()
}
