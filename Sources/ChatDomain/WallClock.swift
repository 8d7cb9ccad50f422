import Foundation

/// Wall-clock time as every stored record and frame carries it.
public enum WallClock {
    /// Milliseconds since the Unix epoch, rounded.
    public static func milliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }
}
