import Negentropy
import NostrCore

/// The one place an event id crosses between NostrCore's `Bytes32` and the Negentropy target's
/// own `NegentropyID` (kept apart so that target stays a plain implementation of the protocol):
/// word for word, never through hex.
extension NegentropyID {
    init(_ id: Bytes32) {
        self.init(w0: id.w0, w1: id.w1, w2: id.w2, w3: id.w3)
    }
}

extension Bytes32 {
    init(_ id: NegentropyID) {
        let (w0, w1, w2, w3) = id.words
        self.init(w0: w0, w1: w1, w2: w2, w3: w3)
    }
}
