extension TokenAuthority {
    /// Placeholders shipped in examples (deploy/compose/.env.example): a node started with one
    /// would accept tokens anyone who read the repository can sign.
    static let placeholderSecrets: Set<String> = ["change-me-to-a-long-random-secret"]

    static let secretAdvice = "make one with `openssl rand -hex 32`"

    /// Why `secret` is too weak for HS256, or `nil` when it is acceptable.
    ///
    /// Length alone is not enough: 32 copies of one character, a short block repeated or the
    /// example's placeholder pass a length check and are guessed at once.
    public static func weakness(ofSecret secret: String) -> String? {
        let bytes = Array(secret.utf8)
        // HS256 keys shorter than the hash are weak, and jwt-kit refuses them.
        guard bytes.count >= 32 else {
            return "the JWT secret must be at least 32 bytes (it is \(bytes.count)): \(secretAdvice)"
        }
        let lowered = secret.lowercased()
        if placeholderSecrets.contains(secret) || lowered.contains("change-me") || lowered.contains("changeme") {
            return "the JWT secret is the example placeholder: \(secretAdvice)"
        }
        if Set(bytes).count < 8 {
            return "the JWT secret has only \(Set(bytes).count) distinct characters: \(secretAdvice)"
        }
        if let period = shortestPeriod(bytes), period <= bytes.count / 2 {
            return "the JWT secret repeats a block of \(period) characters: \(secretAdvice)"
        }
        if Set(zip(bytes, bytes.dropFirst()).map { Int($1) - Int($0) }).count < 4 {
            return "the JWT secret is a run of regularly spaced characters (like abcdef...): \(secretAdvice)"
        }
        return nil
    }

    /// The smallest p with bytes[i] == bytes[i - p] for every i >= p.
    private static func shortestPeriod(_ bytes: [UInt8]) -> Int? {
        // Prefix function (KMP): the longest proper border gives the smallest period.
        guard !bytes.isEmpty else { return nil }
        var border = [Int](repeating: 0, count: bytes.count)
        var length = 0
        for index in 1..<bytes.count {
            while length > 0, bytes[index] != bytes[length] { length = border[length - 1] }
            if bytes[index] == bytes[length] { length += 1 }
            border[index] = length
        }
        // A period of at most half the length means the secret is a block written out twice or more.
        return bytes.count - border[bytes.count - 1]
    }
}
