import Logging
import NostrCore

extension Relay {
    /// Every stored event matching `filter` (its `limit` is ignored), however small the relay's
    /// per-REQ cap, newest pages first. `onPage` gets each page's new events and a cursor to
    /// persist; a thrown error stops the fetch.
    public func fetchAll(_ filter: Filter, onPage: @Sendable ([Event], FetchCursor) async throws -> Void) async throws -> FetchSummary {
        let clock = ContinuousClock()
        let start = clock.now
        let info = await information()
        let pageLimit = min(info?.limitation.maxLimit.flatMap { $0 > 0 ? $0 : nil } ?? configuration.fetchPageLimit, 10_000)
        var pager = FetchPager(filter: filter, pageLimit: pageLimit)
        var summary = FetchSummary()
        let maxPages = 1_000_000
        while let query = pager.nextFilter() {
            try Task.checkCancellation()
            guard summary.pages < maxPages else {
                throw RelayFetchError(url: url, reason: .tooManyPages(maxPages), cursor: pager.cursor)
            }
            summary.pages += 1
            let page = try await fetchPage(query, pageLimit: pageLimit, cursor: pager.cursor)
            let digest = pager.receive(page.events, rawCount: page.rawCount, sentUntil: query.until)
            summary.events += digest.fresh.count
            summary.duplicatesDropped += digest.duplicates
            summary.outOfRangeDropped += digest.outOfRange
            if !digest.fresh.isEmpty || pager.isDone {
                try await onPage(digest.fresh, pager.cursor)
            }
        }
        summary.cappedSeconds = pager.cappedSeconds
        if !summary.cappedSeconds.isEmpty {
            core.logger.warning(
                "relay capped a whole second of events; fetched that second apart",
                metadata: [
                    "relay.seconds": .string(summary.cappedSeconds.map(String.init).joined(separator: ",")),
                    "relay.filter": .string(filter.description),
                ])
        }
        summary.seconds = (clock.now - start).seconds
        return summary
    }

    struct Page {
        var events: [Event] = []
        var rawCount = 0
    }

    /// One REQ until EOSE. Retries a few times when the relay closes it for a passing reason.
    private func fetchPage(_ filter: Filter, pageLimit: Int, cursor: FetchCursor) async throws -> Page {
        // A relay ignoring `limit` must not make one page unbounded.
        let hardCap = max(pageLimit * 4, 20_000)
        var attempt = 0
        while true {
            attempt += 1
            guard await waitUntilConnected(timeout: configuration.notConnectedAfter) else {
                throw RelayFetchError(url: url, reason: .notConnected, cursor: cursor)
            }
            let subscription = await subscribeNow([filter], live: false, buffer: max(configuration.subscriptionBuffer, 1_000))
            var page = Page()
            var closedReason: RelayReason?
            for await item in subscription {
                switch item {
                case let .event(e):
                    page.events.append(e)
                    if page.events.count >= hardCap { subscription.cancel() }
                case .endOfStoredEvents:
                    break
                case let .closed(reason):
                    closedReason = reason
                }
            }
            page.rawCount = max(subscription.rawCount, page.events.count)
            guard let reason = closedReason else { return page }
            let passing = reason.prefix == .rateLimited || reason.prefix == .error || reason.prefix == nil
            if !passing || attempt >= 4 || !page.events.isEmpty && reason.prefix != .error {
                if reason.prefix == .error, !page.events.isEmpty { return page }
                throw RelayFetchError(url: url, reason: .closedByRelay(reason), cursor: cursor)
            }
            try await Task.sleep(for: .seconds(1 << (attempt - 1)))
        }
    }
}
