import Foundation
import Logging

enum LogSetup {
    /// The executable is the one place that configures logging; libraries take this logger.
    static func makeLogger(level: String) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: level) ?? .info
            return handler
        }
        var logger = Logger(label: "relaysync")
        logger.logLevel = Logger.Level(rawValue: level) ?? .info
        return logger
    }
}


