import Foundation

/// Where the soak writes: results on stdout, progress on stderr (so `chat-soak | tail` shows the verdict).
enum SoakOutput {
    static func progress(_ line: String) {
        FileHandle.standardError.write(Data("chat-soak: \(line)\n".utf8))
    }

    /// `12.3s`: elapsed time for progress lines.
    static func seconds(_ value: Double) -> String {
        String(format: "%.1fs", value)
    }

    static func result(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
