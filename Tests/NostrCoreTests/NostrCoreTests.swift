import Testing
@testable import NostrCore
