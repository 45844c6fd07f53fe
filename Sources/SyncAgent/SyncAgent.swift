// The SyncAgent module.
