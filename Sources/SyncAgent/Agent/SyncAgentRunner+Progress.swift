extension SyncAgentRunner {
    /// What `runOnce` or `audit` has done so far (read-only, cheap: one copy of the counters).
    public var progress: ProgressSample { counters.snapshot.progress }
}
