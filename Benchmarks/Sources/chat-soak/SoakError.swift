/// Why a soak could not run at all (as opposed to a failed check, which is a result).
enum SoakError: Error, CustomStringConvertible {
    case startup(String)

    var description: String {
        switch self {
        case .startup(let why): why
        }
    }
}
