/// A small deterministic random number generator (SplitMix64), so a soak's choices (memberships,
/// senders, which gateway a session picks, the fault schedule) follow from its printed seed.
///
/// Each component draws from its own ``derived(_:)`` stream: a change in how often one component
/// draws then does not shift what the others choose.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An independent stream named `label` (FNV-1a of the label mixed into the seed).
    func derived(_ label: String) -> SeededGenerator {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in label.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        var mixer = SeededGenerator(seed: state ^ hash)
        return SeededGenerator(seed: mixer.next())
    }

    /// A duration in seconds drawn uniformly from `range`.
    mutating func seconds(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound == range.upperBound ? range.lowerBound : Double.random(in: range, using: &self)
    }
}
