import NIOCore

/// Process-wide I/O settings, to be applied before the first connection.
public enum RelayIO {
    /// Event-loop threads for all relay connections (NIO's singleton group).
    public static func useThreads(_ count: Int) {
        NIOSingletons.groupLoopCountSuggestion = max(1, count)
    }
}
