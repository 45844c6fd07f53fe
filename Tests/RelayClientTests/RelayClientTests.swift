import Testing
@testable import RelayClient
