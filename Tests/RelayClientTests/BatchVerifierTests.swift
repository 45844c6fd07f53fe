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

/// Signatures verified lately: a later copy of the same event (another primary's) skips the
/// Schnorr check, and nothing else does.
@Suite struct RecentSignaturesTests {
    @Test func aCopyOfAVerifiedEventIsValidAndNothingElseSkipsTheCheck() throws {
        let recent = RecentSignatures(capacity: 8)
        let key = SecretKey.generate()
        let event = try key.sign(kind: 1, content: "live", createdAt: 1_700_000_000)
        #expect(recent.verify(event) == .valid)
        #expect(recent.count == 1)
        #expect(recent.verify(try Event(json: event.rawJSON)) == .valid)
        #expect(recent.count == 1)
        // The same id with another signature is checked, and fails.
        let flipped = String(event.sig.prefix(10)) + (event.sig.dropFirst(10).first == "0" ? "1" : "0") + event.sig.dropFirst(11)
        #expect(recent.verify(try Event(json: event.rawJSON.replacingOccurrences(of: event.sig, with: flipped))) == .badSignature)
        // The same id and signature over other content: the id is always checked.
        let forged = try Event(json: event.rawJSON.replacingOccurrences(of: "\"live\"", with: "\"forged\""))
        guard case .badID = recent.verify(forged) else {
            Issue.record("a forged copy was not refused")
            return
        }
        #expect(recent.count == 1, "only valid signatures are kept")
    }

    /// The skip is only what the caller vouches for: a bad signature taken as known passes,
    /// which is why only valid ones are ever remembered; a bad id never does.
    @Test func aKnownSignatureSkipsOnlyTheSignatureCheck() throws {
        let key = SecretKey.generate()
        let event = try key.sign(kind: 1, content: "live", createdAt: 1_700_000_000)
        let flipped = String(event.sig.prefix(10)) + (event.sig.dropFirst(10).first == "0" ? "1" : "0") + event.sig.dropFirst(11)
        let badSig = try Event(json: event.rawJSON.replacingOccurrences(of: event.sig, with: flipped))
        #expect(badSig.verify() == .badSignature)
        #expect(badSig.verify(signatureKnownValid: { $0 == event.id && $1 == flipped }) == .valid)
        let forged = try Event(json: event.rawJSON.replacingOccurrences(of: "\"live\"", with: "\"forged\""))
        guard case .badID = forged.verify(signatureKnownValid: { _, _ in true }) else {
            Issue.record("a bad id passed")
            return
        }
    }

    @Test func itKeepsAtMostItsCapacityOldestOutFirst() throws {
        let recent = RecentSignatures(capacity: 4)
        let key = SecretKey.generate()
        let events = try (0..<6).map { try key.sign(kind: 1, content: "n\($0)", createdAt: 1_700_000_000 + Int64($0)) }
        for e in events { #expect(recent.verify(e) == .valid) }
        #expect(recent.count == 4)
        #expect(!recent.remembers(events[0]) && !recent.remembers(events[1]))
        #expect(events[2...].allSatisfy { recent.remembers($0) })
    }
}
