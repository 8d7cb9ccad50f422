import Foundation
import Testing

extension WSTestClient {
    /// Sends `request` with a fresh id and returns the reply to it.
    func ask(_ request: [String: Any]) async throws -> [String: Any] {
        let id = "\(request["op"] ?? "op")-\(UUID().uuidString.prefix(8))"
        var request = request
        request["id"] = id
        send(request)
        return try await reply(to: id)
    }
}
