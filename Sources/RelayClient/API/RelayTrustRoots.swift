import Foundation
import NIOSSL

/// CA certificates a relay's TLS certificate may chain to besides the system's roots: a relay
/// run with a private CA (`tls_ca_file` in sync.json). Loaded from PEM.
public struct RelayTrustRoots: Sendable, Equatable {
    let certificates: [NIOSSLCertificate]

    /// Every certificate in a PEM file.
    public init(pemFile path: String) throws(RelayTrustRootsError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            throw RelayTrustRootsError(path: path, reason: !exists ? "no such file" : isDirectory.boolValue ? "is a folder, not a PEM file" : "cannot be read")
        }
        do {
            try self.init(pem: [UInt8](data))
        } catch {
            throw RelayTrustRootsError(path: path, reason: error.reason)
        }
    }

    /// Every certificate in PEM text (`-----BEGIN CERTIFICATE-----` blocks).
    public init(pem: [UInt8]) throws(RelayTrustRootsError) {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(pem)
        } catch {
            throw RelayTrustRootsError(path: nil, reason: "not a PEM certificate file")
        }
        guard !certificates.isEmpty else { throw RelayTrustRootsError(path: nil, reason: "holds no PEM certificate") }
        self.certificates = certificates
    }

    /// How many certificates were loaded.
    public var count: Int { certificates.count }
}

/// A CA file that could not be used: missing, unreadable, or without a PEM certificate.
public struct RelayTrustRootsError: Error, Sendable, CustomStringConvertible {
    public let path: String?
    public let reason: String
    public var description: String { path.map { "\($0): \(reason)" } ?? reason }
}
