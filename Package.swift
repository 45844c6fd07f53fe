// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "RelaySync",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "relaysync", targets: ["relaysync"]),
        .library(name: "NostrCore", targets: ["NostrCore"]),
        .library(name: "Negentropy", targets: ["Negentropy"]),
        .library(name: "RelayClient", targets: ["RelayClient"]),
        .library(name: "Ledger", targets: ["Ledger"]),
        .library(name: "LedgerPostgres", targets: ["LedgerPostgres"]),
        .library(name: "Archive", targets: ["Archive"]),
        .library(name: "SyncAgent", targets: ["SyncAgent"]),
        .library(name: "Media", targets: ["Media"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.5.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.3.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSecp256k1",
            pkgConfig: "libsecp256k1",
            providers: [.apt(["libsecp256k1-dev"])]
        ),
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        .target(
            name: "NostrCore",
            dependencies: [
                "CSecp256k1",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // NIP-77 range-based set reconciliation (negentropy protocol v1): SHA-256 and nothing else.
        .target(
            name: "Negentropy",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "RelayClient",
            dependencies: [
                "NostrCore",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Ledger",
            dependencies: [
                "NostrCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // The shared ledger on PostgreSQL (postgres-nio and its connection pool), behind the same
        // stores as the SQLite ledger, with the cluster's leases and agents.
        .target(
            name: "LedgerPostgres",
            dependencies: [
                "NostrCore", "Ledger",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Archive",
            dependencies: ["NostrCore", "CZstd"],
            swiftSettings: strict
        ),
        // Blossom media: blob references, fetching with verification, the local store, mirroring.
        .target(
            name: "Media",
            dependencies: [
                "NostrCore", "Ledger",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "SyncAgent",
            dependencies: [
                "NostrCore", "Negentropy", "RelayClient", "Ledger", "LedgerPostgres", "Archive", "Media",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "relaysync",
            dependencies: [
                "SyncAgent", "Media", "LedgerPostgres",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // Starts and stops the third-party test relays and the nostr-sdk tool
        // (scripts/peers); used by tests and benchmarks, never by the product.
        .target(
            name: "PeerHarness",
            dependencies: [
                "NostrCore",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ], swiftSettings: strict),
        .executableTarget(
            name: "BenchMedia",
            dependencies: [
                "Media", "PeerHarness", "NostrCore", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .executableTarget(name: "BenchCore", dependencies: ["NostrCore", "CSecp256k1", "PeerHarness"], swiftSettings: strict),
        .executableTarget(name: "BenchArchive", dependencies: ["Archive", "PeerHarness"], swiftSettings: strict),
        .executableTarget(name: "BenchRelay", dependencies: ["RelayClient", "PeerHarness"], swiftSettings: strict),
        // What the benchmarks share: RelaySync's own client to seed and read their relays.
        .target(
            name: "BenchSupport", dependencies: ["RelayClient", "PeerHarness", "NostrCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .executableTarget(
            name: "BenchAgent",
            dependencies: ["BenchSupport", "SyncAgent", "Ledger", "RelayClient", "PeerHarness", "CSecp256k1", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .executableTarget(
            name: "BenchLeases", dependencies: ["LedgerPostgres", "PeerHarness", .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .executableTarget(
            name: "BenchInbox", dependencies: ["BenchSupport", "RelayClient", "PeerHarness", "NostrCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .executableTarget(
            name: "BenchReconcile",
            dependencies: ["BenchSupport", "Ledger", "RelayClient", "PeerHarness", "NostrCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .testTarget(name: "NegentropyTests", dependencies: ["Negentropy"], resources: [.copy("Fixtures")], swiftSettings: strict),
        .testTarget(name: "NostrCoreTests", dependencies: ["NostrCore", "PeerHarness"], resources: [.copy("Fixtures")], swiftSettings: strict),
        .testTarget(
            name: "RelayClientTests",
            dependencies: [
                "RelayClient", "PeerHarness",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ], swiftSettings: strict),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "PeerHarness", .product(name: "GRDB", package: "GRDB.swift")], swiftSettings: strict),
        .testTarget(
            name: "LedgerPostgresEndToEndTests",
            dependencies: ["Ledger", "LedgerPostgres", "NostrCore", "PeerHarness", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: strict),
        .testTarget(name: "ArchiveTests", dependencies: ["Archive", "PeerHarness"], swiftSettings: strict),
        .testTarget(
            name: "MediaTests",
            dependencies: ["Media", "NostrCore", "Ledger", "PeerHarness", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .testTarget(
            name: "SyncAgentTests",
            dependencies: [
                "SyncAgent", "PeerHarness", "Archive", "Ledger", "RelayClient", "Media", .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // End-to-end tests: each starts relays (third-party or scripted), servers or child processes, and
        // uses its fast target's fixtures. `scripts/test --fast` runs every other target.
        .testTarget(
            name: "NostrCoreEndToEndTests", dependencies: ["NostrCore", "PeerHarness"], swiftSettings: strict),
        .testTarget(name: "ArchiveEndToEndTests", dependencies: ["ArchiveTests", "Archive", "NostrCore"], swiftSettings: strict),
        .testTarget(
            name: "RelayClientEndToEndTests",
            dependencies: [
                "RelayClientTests", "RelayClient", "PeerHarness",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ], swiftSettings: strict),
        .testTarget(
            name: "MediaEndToEndTests",
            dependencies: [
                "Media", "NostrCore", "Ledger", "PeerHarness", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "SyncAgentEndToEndTests",
            dependencies: [
                "SyncAgentTests", "SyncAgent", "PeerHarness", "Archive", "Ledger", "LedgerPostgres", "RelayClient", "Media", "Negentropy",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"), .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strict),
    ]
)
