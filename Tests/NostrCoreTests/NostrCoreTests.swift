import Foundation
import Testing
@testable import NostrCore
