import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore

/// A plain HTTP request to a test node.
func http(_ method: HTTPRequest.Method, port: Int, _ path: String, headers: HTTPFields = [:], body: String? = nil) async throws -> (
    status: Int, body: String
) {
    try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
        let response = try await client.execute(
            TestClient.Request(path, method: method, authority: "127.0.0.1:\(port)", headers: headers, body: body.map { ByteBuffer(string: $0) }))
        return (Int(response.status.code), response.body.map { String(buffer: $0) } ?? "")
    }
}

func json(_ text: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
}
