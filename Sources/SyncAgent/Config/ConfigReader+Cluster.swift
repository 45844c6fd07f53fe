import NostrCore

extension ConfigReader {
    /// `cluster`: `{"lease_period": "30s"}`, how long an agent's lease on a relay or the archive
    /// lasts without renewal on a PostgreSQL ledger (ignored on SQLite, which has one agent).
    func readCluster() throws(ConfigError) -> Duration {
        let fallback = Duration.seconds(30)
        guard let value = root["cluster"], value != .null else { return fallback }
        guard case let .object(fields) = value else { throw ConfigError(key: "cluster", reason: "must be null or an object with lease_period") }
        for (k, _) in fields where k != "lease_period" {
            throw ConfigError(key: "cluster.\(k)", reason: "unknown key (expected lease_period)")
        }
        guard let period = value["lease_period"], period != .null else { return fallback }
        guard case let .string(text) = period, let duration = TimeParsing.duration(text), duration >= .seconds(1), duration <= .seconds(3600) else {
            throw ConfigError(key: "cluster.lease_period", reason: "must be a duration from \"1s\" to \"1h\", such as \"30s\"")
        }
        return duration
    }
}
