/// One verdict of the soak: a line `PASS name: detail` (or FAIL, or SKIP when it could not be
/// judged), with a few examples of what went wrong.
struct Check: Sendable, Codable {
    enum Status: String, Sendable, Codable {
        case pass = "PASS"
        case fail = "FAIL"
        case skip = "SKIP"
    }

    var name: String
    var status: Status
    var detail: String
    var examples: [String] = []

    init(_ name: String, passed: Bool, _ detail: String, examples: [String] = []) {
        self.name = name
        self.status = passed ? .pass : .fail
        self.detail = detail
        self.examples = examples
    }

    static func skip(_ name: String, _ detail: String) -> Check {
        var check = Check(name, passed: true, detail)
        check.status = .skip
        return check
    }

    var lines: [String] {
        ["\(status.rawValue) \(name): \(detail)"] + examples.prefix(10).map { "     \($0)" }
            + (examples.count > 10 ? ["     ... and \(examples.count - 10) more"] : [])
    }
}
