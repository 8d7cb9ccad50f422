import Crypto
import Foundation

/// Signs the HS256 client tokens the gateways accept (`chatd --jwt-secret`).
///
/// The tests sign with the server's `TokenAuthority`; the soak instead signs with swift-crypto in
/// a few lines, so that it stays a plain client of the protocol and links none of the server's
/// modules (what it checks is the server as a black box).
struct TokenMinter: Sendable {
    let secret: String

    /// A token for `user` with only the claims the gateway requires: `sub` and `exp`.
    func token(user: String, lifetime: TimeInterval) throws -> String {
        let header = Self.base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let claims: [String: Any] = ["sub": user, "exp": Int(Date().timeIntervalSince1970 + lifetime)]
        let payload = Self.base64URL(try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
        let signingInput = header + "." + payload
        let signature = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return signingInput + "." + Self.base64URL(Data(signature))
    }

    private static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
