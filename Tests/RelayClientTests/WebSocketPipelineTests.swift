import NIOCore
import NIOWebSocket
import Testing

@testable import RelayClient

@Suite("WebSocket pipeline parts (no I/O)")
struct WebSocketPipelineTests {
    func frame(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true, rsv1: Bool = false) -> WebSocketFrame {
        WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, data: ByteBuffer(string: text))
    }

    func text(_ output: MessageAssembler.Output) -> String? {
        if case let .message(buffer, _, _) = output { return String(buffer: buffer) }
        return nil
    }

    func violation(_ output: MessageAssembler.Output) -> WebSocketErrorCode? {
        if case let .violation(code, _) = output { return code }
        return nil
    }

    @Test func fragmentsJoinIntoOneMessage() {
        var a = MessageAssembler(maxMessage: 100, compression: false)
        #expect(text(a.receive(frame(.text, "whole"))) == "whole")
        guard case .none = a.receive(frame(.text, "[\"EV", fin: false)) else { Issue.record("first fragment"); return }
        guard case .none = a.receive(frame(.continuation, "ENT\",", fin: false)) else { Issue.record("middle fragment"); return }
        #expect(text(a.receive(frame(.continuation, "1]"))) == "[\"EVENT\",1]")
        #expect(text(a.receive(frame(.binary, "again"))) == "again")
    }

    @Test func fragmentRulesAreEnforced() {
        var a = MessageAssembler(maxMessage: 100, compression: false)
        #expect(violation(a.receive(frame(.continuation, "orphan"))) == .protocolError)
        _ = a.receive(frame(.text, "open", fin: false))
        #expect(violation(a.receive(frame(.text, "interleaved"))) == .protocolError)
    }

    @Test func messagesOverTheCapAreRefusedWholeOrInPieces() {
        var a = MessageAssembler(maxMessage: 10, compression: false)
        #expect(violation(a.receive(frame(.text, String(repeating: "x", count: 11)))) == .messageTooLarge)
        _ = a.receive(frame(.text, "123456", fin: false))
        #expect(violation(a.receive(frame(.continuation, "78901"))) == .messageTooLarge)
        #expect(text(a.receive(frame(.text, "1234567890"))) == "1234567890")
    }

    @Test func rsv1MarksACompressedMessageOnlyWhenDeflateWasAgreed() {
        var plain = MessageAssembler(maxMessage: 100, compression: false)
        #expect(violation(plain.receive(frame(.text, "x", rsv1: true))) == .protocolError)
        var deflating = MessageAssembler(maxMessage: 100, compression: true)
        guard case .message(_, true, true) = deflating.receive(frame(.text, "x", rsv1: true)) else {
            Issue.record("RSV1 on a single frame is a compressed message"); return
        }
        _ = deflating.receive(frame(.text, "a", fin: false, rsv1: true))
        #expect(violation(deflating.receive(frame(.continuation, "b", rsv1: true))) == .protocolError)
    }

    @Test func keepalivePingsTimesThePongAndDeclaresASilentConnectionDead() {
        var k = Keepalive(openedAt: .zero)
        guard case let .ping(first) = k.periodElapsed(at: .seconds(20)) else { Issue.record("first period pings"); return }
        var wrong = ByteBuffer()
        wrong.writeInteger(UInt64(99))
        #expect(k.pong(wrong, at: .seconds(21)) == nil)
        #expect(k.pong(first, at: .milliseconds(20_005)) == .milliseconds(5))
        guard case .ping = k.periodElapsed(at: .seconds(40)) else { Issue.record("answered: next period pings again"); return }
        #expect(k.periodElapsed(at: .seconds(60)) == .dead)
    }

    @Test func keepaliveCountsAnyFrameAsLifeButNotForever() {
        var k = Keepalive(openedAt: .zero)
        guard case .ping = k.periodElapsed(at: .seconds(20)) else { Issue.record("pings"); return }
        k.frameReceived(at: .seconds(25))
        // The pong is late behind other frames: alive, asked again.
        guard case .ping = k.periodElapsed(at: .seconds(40)) else { Issue.record("frames since the ping keep it alive"); return }
        // Then nothing at all for a whole period.
        #expect(k.periodElapsed(at: .seconds(60)) == .dead)
    }

    @Test func deflateNegotiationReadsTheRelaysAnswer() throws {
        #expect(try PerMessageDeflate.negotiate([]) == nil)
        #expect(try PerMessageDeflate.negotiate(["permessage-deflate"]) == PerMessageDeflate())
        let shaped = try #require(
            try PerMessageDeflate.negotiate(["permessage-deflate; server_no_context_takeover; client_max_window_bits=10; server_max_window_bits=\"12\""]))
        #expect(shaped.serverNoContextTakeover && !shaped.clientNoContextTakeover)
        #expect(shaped.clientMaxWindowBits == 10 && shaped.compressesOutbound)
        #expect(try PerMessageDeflate.negotiate(["permessage-deflate;client_max_window_bits=8"])?.compressesOutbound == false)
        for bad in [
            "x-webkit-deflate-frame", "permessage-deflate; foo", "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; client_max_window_bits", "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate, permessage-deflate",
        ] {
            #expect(throws: PerMessageDeflate.Refusal.self, "\(bad)") { try PerMessageDeflate.negotiate([bad]) }
        }
    }

    func json(_ i: Int) -> ByteBuffer {
        ByteBuffer(string: "[\"EVENT\",{\"id\":\"\(i)\",\"content\":\"\(String(repeating: "note \(i) ", count: 40))\"}]")
    }

    @Test func deflatedMessagesInflateBackWithAndWithoutContextTakeover() throws {
        for reset in [false, true] {
            let parameters = PerMessageDeflate(serverNoContextTakeover: reset, clientNoContextTakeover: reset)
            let deflater = try Deflater(parameters)
            let inflater = try Inflater(parameters, maxSize: 1 << 20)
            for i in 0..<5 {
                let compressed = try #require(try deflater.deflate(json(i)))
                #expect(compressed.readableBytes < json(i).readableBytes)
                if reset {
                    // Without context takeover every message stands alone.
                    #expect(try Inflater(parameters, maxSize: 1 << 20).inflate(compressed) == json(i))
                }
                #expect(try inflater.inflate(compressed) == json(i))
            }
        }
        #expect(try Deflater(PerMessageDeflate()).deflate(ByteBuffer(string: "[\"CLOSE\",\"s\"]")) == nil)
    }

    @Test func aSmallFrameThatInflatesPastTheCapIsRefused() throws {
        var bomb = ByteBuffer()
        bomb.writeRepeatingByte(UInt8(ascii: "a"), count: 1 << 20)
        let compressed = try #require(try Deflater(PerMessageDeflate()).deflate(bomb))
        #expect(compressed.readableBytes < 4_096)
        #expect(throws: Inflater.TooLarge.self) { try Inflater(PerMessageDeflate(), maxSize: 64 << 10).inflate(compressed) }
    }

    @Test func outboxHandsOverEverythingQueuedAtOnceAndDrainsBeforeEnding() async throws {
        let box = Outbox()
        box.yield("a"); box.yield("b"); box.yield("c")
        #expect(await box.next() == ["a", "b", "c"])
        let waiting = Task { await box.next() }
        #expect(try await TestSupport.waitFor(seconds: 10, every: .milliseconds(1)) { box.hasWaiter })
        box.yield("d")
        #expect(await waiting.value == ["d"])
        box.yield("e")
        box.finish()
        box.yield("dropped")
        #expect(await box.next() == ["e"])
        #expect(await box.next() == nil)
    }

    @Test func aCancelledWriterStopsWaiting() async throws {
        let box = Outbox()
        let waiting = Task { await box.next() }
        #expect(try await TestSupport.waitFor(seconds: 10, every: .milliseconds(1)) { box.hasWaiter })
        waiting.cancel()
        #expect(await waiting.value == nil)
    }

    @Test func maskingKeysDoNotRepeat() {
        var keys = MaskingKeys()
        // 1,000 keys span several refills of the pool; 32-bit keys collide with odds of about 1e-4.
        let drawn = (0..<1_000).map { _ in keys.next() }
        let distinct = Set(drawn.map { Array($0) })
        #expect(distinct.count >= 998)
    }
}
