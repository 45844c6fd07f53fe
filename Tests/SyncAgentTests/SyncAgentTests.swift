import Testing
@testable import SyncAgent
