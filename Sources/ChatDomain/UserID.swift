/// The bound on user ids wherever a request names a user (`invite`, `dm`, the admin API...):
/// the same as the development token endpoint issues `sub` claims with.
public enum UserID {
    /// Longest user id, in characters.
    public static let maxLength = 128

    /// Whether `user` is a user id a request may name: non-empty and at most ``maxLength`` characters.
    public static func isValid(_ user: String) -> Bool {
        (1...maxLength).contains(user.count)
    }
}
