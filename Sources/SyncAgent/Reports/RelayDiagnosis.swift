import Foundation
import Logging
import NostrCore
import RelayClient

/// What `relaysync diagnose` learned about one relay. Absent fields were not measurable
/// (for example, nothing after a failed connection).
public struct RelayDiagnosis: Sendable, Codable {
    public struct Latency: Sendable, Codable {
        public var medianMs: Double
        public var p90Ms: Double
        public var rounds: Int
    }

    public var url: RelayURL
    public var reachable: Bool
    /// `reachable`, or `unreachable: ` and the connection failure's one line
    /// (`RelayConnectionError.summary`): DNS, refused, timeout, certificate, HTTP answer to the upgrade.
    public var verdict: String
    public var connectMs: Double?
    public var information: RelayInformation?
    public var reqToEOSE: Latency?
    public var publishRoundTripMs: Double?
    public var publishOutcome: String?
    public var sentAuthChallenge: Bool?
    public var answersCOUNT: Bool?
    public var answersNEG: Bool?
    public var readEvents: Int?
    public var readEventsPerSecond: Double?

    public var text: String {
        var lines = ["\(url): \(verdict)"]
        guard reachable else { return lines.joined(separator: "\n") }
        func ms(_ x: Double?) -> String { x.map { String(format: "%.1f ms", $0) } ?? "-" }
        lines.append("  connect \(ms(connectMs))")
        if let info = information {
            let nips = info.supportedNIPs.map(String.init).joined(separator: ",")
            lines.append("  NIP-11: \(info.name ?? "unnamed")\(info.software.map { ", \($0)" } ?? "")\(info.version.map { " \($0)" } ?? ""); NIPs [\(nips)]")
            let l = info.limitation
            let limits =
                [("max_limit", l.maxLimit), ("max_subscriptions", l.maxSubscriptions), ("max_message_length", l.maxMessageLength)]
                .compactMap { name, v in v.map { "\(name) \($0)" } }
                + [("auth_required", l.authRequired), ("restricted_writes", l.restrictedWrites), ("payment_required", l.paymentRequired)]
                .compactMap { name, v in v == true ? name : nil }
            if !limits.isEmpty { lines.append("  limits: \(limits.joined(separator: ", "))") }
        } else {
            lines.append("  NIP-11: no document")
        }
        if let r = reqToEOSE { lines.append("  REQ to EOSE: median \(ms(r.medianMs)), p90 \(ms(r.p90Ms)) over \(r.rounds) rounds") }
        if let n = readEvents, let rate = readEventsPerSecond { lines.append("  read: \(n) events at \(Int(rate)) events/s") }
        if let outcome = publishOutcome { lines.append("  publish: \(outcome) in \(ms(publishRoundTripMs))") }
        func yesNo(_ b: Bool?) -> String { b.map { $0 ? "yes" : "no" } ?? "-" }
        lines.append("  AUTH challenge: \(yesNo(sentAuthChallenge)), COUNT: \(yesNo(answersCOUNT)), NEG-OPEN: \(yesNo(answersNEG))")
        return lines.joined(separator: "\n")
    }
}

/// Connects to relays one by one and measures them for `relaysync diagnose`.
public struct RelayDiagnostics: Sendable {
    public var rounds = 5
    public var timeout: Duration = .seconds(10)
    public var key: SecretKey?
    let logger: Logger

    public init(key: SecretKey? = nil, logger: Logger) {
        self.key = key
        self.logger = logger
    }

    public func diagnose(_ url: RelayURL) async -> RelayDiagnosis {
        var d = RelayDiagnosis(url: url, reachable: false, verdict: "")
        var configuration = RelayConfiguration(url: url, authKey: key)
        configuration.connectTimeout = timeout
        configuration.informationTimeout = timeout
        configuration.eoseTimeout = timeout
        configuration.okTimeout = timeout
        configuration.backoffInitial = .seconds(30)  // one attempt is the point: no retries while measuring
        let relay = Relay(configuration: configuration, logger: logger)
        return await withTaskGroup(of: Void.self) { group -> RelayDiagnosis in
            group.addTask { try? await relay.run() }
            defer { relay.stop() }
            let start = ContinuousClock.now
            guard await relay.waitUntilConnected(timeout: timeout + .seconds(1), orPermanentFailure: true) else {
                d.verdict = "unreachable: " + (await relay.connectionFailure(waited: timeout + .seconds(1)))
                return d
            }
            d.reachable = true
            d.verdict = "reachable"
            d.connectMs = (ContinuousClock.now - start) / .milliseconds(1)
            d.information = await relay.information()

            var samples: [Double] = []
            for _ in 0..<max(1, rounds) {
                let t = ContinuousClock.now
                for await item in relay.subscribe([Filter(kinds: [Kind.textNote], limit: 1)], live: false) {
                    if case .closed = item { break }
                }
                samples.append((ContinuousClock.now - t) / .milliseconds(1))
            }
            samples.sort()
            d.reqToEOSE = .init(
                medianMs: samples[samples.count / 2], p90Ms: samples[min(samples.count - 1, Int(Double(samples.count) * 0.9))], rounds: samples.count)

            // `{"since":0}` rather than `{}`: nostr-relay matches nothing for an empty filter.
            let readStart = ContinuousClock.now
            var read = 0
            for await item in relay.subscribe([Filter(since: 0, limit: 500)], live: false) {
                if case .event = item { read += 1 }
            }
            d.readEvents = read
            d.readEventsPerSecond = Double(read) / max(1e-6, (ContinuousClock.now - readStart) / .seconds(1))

            if let key {
                // Ephemeral: a relay passes it on and stores nothing.
                if let probe = try? key.sign(kind: 20_001, content: "relaysync diagnose", createdAt: Int64(Date().timeIntervalSince1970)) {
                    let t = ContinuousClock.now
                    d.publishOutcome = await relay.publish(probe).description
                    d.publishRoundTripMs = (ContinuousClock.now - t) / .milliseconds(1)
                }
            }

            let probeWait = Duration.seconds(2)
            let count = await relay.exchange(
                .count(subscription: "rsdiag-count", filters: [Filter(kinds: [Kind.textNote])]), subscription: "rsdiag-count", timeout: probeWait)
            if case .count? = count { d.answersCOUNT = true } else { d.answersCOUNT = false }
            // A version-only negentropy message: a NIP-77 relay answers NEG-MSG or NEG-ERR.
            let neg = await relay.exchange(
                .negOpen(subscription: "rsdiag-neg", filter: Filter(kinds: [Kind.textNote]), message: "61"), subscription: "rsdiag-neg", timeout: probeWait)
            switch neg {
            case .negMsg?, .negErr?: d.answersNEG = true
            default: d.answersNEG = false
            }
            d.sentAuthChallenge = await relay.health().authChallenged
            return d
        }
    }
}
