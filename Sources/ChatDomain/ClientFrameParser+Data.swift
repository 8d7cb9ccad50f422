import Foundation

extension ClientFrameParser {
    /// Parses one frame from its UTF-8 bytes (invalid UTF-8 is a bad request).
    public func parse(_ data: Data) -> Result<ClientFrame, ProtocolError> {
        data.withUnsafeBytes { parse(bytes: $0) }
    }
}
