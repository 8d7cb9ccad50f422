import Foundation
import Logging

/// A logger for test fixtures: quiet unless CHAT_TEST_LOG_LEVEL (trace ... critical) asks for more,
/// so a failing test can be rerun with the nodes' and clients' logs.
public func quietLogger(_ label: String = "chat.tests", level: Logger.Level = .critical) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["CHAT_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? level
    return logger
}
