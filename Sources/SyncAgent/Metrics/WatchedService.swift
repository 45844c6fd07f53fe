import ServiceLifecycle

/// A service whose running is reported to a `ServiceWatch`.
struct WatchedService<Inner: Service>: Service {
    let name: String
    let inner: Inner
    let watch: ServiceWatch

    init(_ name: String, _ inner: Inner, watch: ServiceWatch) {
        self.name = name
        self.inner = inner
        self.watch = watch
        watch.expect(name)
    }

    func run() async throws {
        watch.started(name)
        defer { watch.stopped(name) }
        try await inner.run()
    }
}
