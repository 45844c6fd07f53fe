extension RelayConfiguration {
    /// The settings of each state machine the relay core runs, from one configuration.
    var connectionSettings: ConnectionStateMachine.Settings {
        .init(backoffInitial: backoffInitial, backoffCap: backoffCap, stableAfter: stableAfter)
    }

    var publishSettings: PublishQueue.Settings {
        .init(window: publishWindow, okTimeout: okTimeout, rateLimitRetries: rateLimitRetries, notConnectedAfter: notConnectedAfter)
    }

    var subscriptionSettings: SubscriptionTable.Settings {
        .init(eoseTimeout: eoseTimeout, authTimeout: okTimeout, recentIDs: max(subscriptionBuffer * 4, 10_000))
    }

    var authSettings: AuthState.Settings {
        .init(keyCount: authKeys.count, challengeWait: authChallengeWait)
    }

    var probeSettings: LivenessProbe.Settings {
        .init(answerWithin: okTimeout, deadAfter: deadAfter)
    }

    /// The shortest wait any state machine keeps: something that just started may fall due this soon.
    var quickestDeadline: Duration {
        [okTimeout, eoseTimeout, deadAfter, authChallengeWait, notConnectedAfter, authSettings.answerWait].min() ?? .milliseconds(100)
    }
}
