import Testing

@testable import SyncAgent

/// In a cluster every agent's /metrics says which agent it is, with the id and host `status` lists.
@Suite struct AgentInfoMetricTests {
    @Test func metricsTextCarriesTheAgentIDAndHost() {
        let metrics = AgentMetrics(version: "1.2.3", commit: "abc", agent: AgentIdentity(host: "box-7", pid: 4242))
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("relaysync_agent_info{") }
        #expect(lines.count == 1, "\(text)")
        let line = String(lines.first ?? "")
        #expect(line.contains(#"agent_id="box-7:4242""#) && line.contains(#"host="box-7""#), "\(line)")
        #expect(line.split(separator: " ").last.flatMap { Double($0) } == 1, "\(line)")
        #expect(text.contains("# TYPE relaysync_agent_info gauge"), "\(text)")
    }
}
