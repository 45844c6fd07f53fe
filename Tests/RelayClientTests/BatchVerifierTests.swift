import Foundation
import NostrCore
import Testing

@testable import RelayClient

/// The verdicts of a read's events, however many threads shared the work, line up with the events.
@Suite struct BatchVerifierTests {
    @Test(arguments: [5, 16, 101])
    func verdictsStayInTheEventsOrder(_ count: Int) throws {
        let key = SecretKey.generate()
        var events: [Event] = []
        var expected: [EventVerification] = []
        for i in 0..<count {
            let event = try key.sign(kind: 1, content: "note \(i)", createdAt: 1_700_000_000 + Int64(i))
            switch i % 7 {
            case 3:
                // Another valid signature, over different content: the id no longer matches.
                let other = try key.sign(kind: 1, content: "other \(i)", createdAt: 1_700_000_000 + Int64(i))
                events.append(
                    try Event(
                        json: event.rawJSON.replacingOccurrences(of: event.sig, with: other.sig)
                            .replacingOccurrences(of: "note \(i)", with: "forged \(i)")))
            case 5:
                let flipped = String(event.sig.prefix(10)) + (event.sig.dropFirst(10).first == "0" ? "1" : "0") + event.sig.dropFirst(11)
                events.append(try Event(json: event.rawJSON.replacingOccurrences(of: event.sig, with: flipped)))
            default:
                events.append(event)
            }
            expected.append(events.last!.verify())
        }
        let verdicts = BatchVerifier.verify(events)
        #expect(verdicts == expected)
        #expect(verdicts.filter { $0 == .badSignature }.count == (0..<count).filter { $0 % 7 == 5 }.count)
        #expect(verdicts.filter { if case .badID = $0 { return true } else { return false } }.count == (0..<count).filter { $0 % 7 == 3 }.count)
        #expect(verdicts.filter(\.isValid).count == (0..<count).filter { $0 % 7 != 3 && $0 % 7 != 5 }.count)
    }
}
