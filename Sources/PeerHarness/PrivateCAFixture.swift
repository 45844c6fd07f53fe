import NIOSSL

/// A private CA and three server certificates it signed, made once with Python's `cryptography`
/// (EC P-256): `valid` for localhost, 127.0.0.1 and ::1 until 2125; `expired`, the same names,
/// valid only from 2025-01-01 to 2025-01-02; `otherHost`, for `relay.example` alone. No system
/// trusts the CA.
public enum PrivateCAFixture {
    public static let caPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBgTCCASegAwIBAgIUVVYo9ghxkrmvG/SKY5pYr6ExJCAwCgYIKoZIzj0EAwIw
        HDEaMBgGA1UEAwwRUmVsYXlTeW5jIFRlc3QgQ0EwIBcNMjUwMTAxMDAwMDAwWhgP
        MjEyNTAxMDEwMDAwMDBaMBwxGjAYBgNVBAMMEVJlbGF5U3luYyBUZXN0IENBMFkw
        EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAERbSk/H1TB16uCh+MPiYbNUGYOcte5puF
        shvYhSq5emMsJJsaUhsIK1bKd5FQWUaCsc/SuO1ZwonvbkcQEEwIw6NFMEMwEgYD
        VR0TAQH/BAgwBgEB/wIBADAOBgNVHQ8BAf8EBAMCAYYwHQYDVR0OBBYEFB/bXELB
        +F+KwnEbPC/uhcc3x+EvMAoGCCqGSM49BAMCA0gAMEUCIQDlUvGsqO08/VkMcohL
        WJ8WqKxGqnEy+SqYnWVMaTrPHgIgGEyIqNoKHVHlJJGCn5IBJFSxxiAfn4sn0tT5
        UibsxR4=
        -----END CERTIFICATE-----
        """

    public static let validPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBqTCCAU6gAwIBAgIUTrqS1k+Ix+cRfQMSQyqAW2DKewgwCgYIKoZIzj0EAwIw
        HDEaMBgGA1UEAwwRUmVsYXlTeW5jIFRlc3QgQ0EwIBcNMjUwMTAxMDAwMDAwWhgP
        MjEyNTAxMDEwMDAwMDBaMBQxEjAQBgNVBAMMCWxvY2FsaG9zdDBZMBMGByqGSM49
        AgEGCCqGSM49AwEHA0IABNPVn198DR1JgDVyR1/Skw8uzHOMqTXgYdygmL9nAmxV
        6zwA7M7CesY0xStK/kQuMq4V+d2G5UVnGM7pyoTxmrajdDByMCwGA1UdEQQlMCOC
        CWxvY2FsaG9zdIcEfwAAAYcQAAAAAAAAAAAAAAAAAAAAATAMBgNVHRMBAf8EAjAA
        MBMGA1UdJQQMMAoGCCsGAQUFBwMBMB8GA1UdIwQYMBaAFB/bXELB+F+KwnEbPC/u
        hcc3x+EvMAoGCCqGSM49BAMCA0kAMEYCIQC1w4IEicWYvNrgcbeCPavGXf+9Tbqr
        r0x8qx6xKjppIgIhAID4262/9eZvljb+rdn1WvT2SyvVBe8fMyyFZRWONPt+
        -----END CERTIFICATE-----
        """

    public static let validKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg/z+Nr127wBIicKwE
        jmrpz3hoaYIEa5pkmiDPIUM3+r+hRANCAATT1Z9ffA0dSYA1ckdf0pMPLsxzjKk1
        4GHcoJi/ZwJsVes8AOzOwnrGNMUrSv5ELjKuFfndhuVFZxjO6cqE8Zq2
        -----END PRIVATE KEY-----
        """

    public static let expiredPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBpTCCAUygAwIBAgIUEtwjvAfwz+KtfyZe2rKFopwXssAwCgYIKoZIzj0EAwIw
        HDEaMBgGA1UEAwwRUmVsYXlTeW5jIFRlc3QgQ0EwHhcNMjUwMTAxMDAwMDAwWhcN
        MjUwMTAyMDAwMDAwWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIB
        BggqhkjOPQMBBwNCAATJ1Gd8IiOoFHkRbIaQh2zXT0cWzOmvoR0H1K2MjEbY3mND
        UBNh78yaX5izlN8MAPFFkFJuRZDiahNqYPcEagoeo3QwcjAsBgNVHREEJTAjggls
        b2NhbGhvc3SHBH8AAAGHEAAAAAAAAAAAAAAAAAAAAAEwDAYDVR0TAQH/BAIwADAT
        BgNVHSUEDDAKBggrBgEFBQcDATAfBgNVHSMEGDAWgBQf21xCwfhfisJxGzwv7oXH
        N8fhLzAKBggqhkjOPQQDAgNHADBEAiAqapbiVVa+5JQ5AkCN6pM1MgwYSuF79R3J
        Rt5VBDp5IwIgLb+XsL5WmyRSvaq0zWZ6T+LyDqacFHZXVNBqyCYGzng=
        -----END CERTIFICATE-----
        """

    public static let expiredKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbdHagk8QhpB55aEx
        +D4UL0P0OY2NqaT2eIsIiRMLCu2hRANCAATJ1Gd8IiOoFHkRbIaQh2zXT0cWzOmv
        oR0H1K2MjEbY3mNDUBNh78yaX5izlN8MAPFFkFJuRZDiahNqYPcEagoe
        -----END PRIVATE KEY-----
        """

    public static let otherHostPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBmDCCAT6gAwIBAgIUU6WCm8Sf3Bb0o5T0NtthhPzEyIMwCgYIKoZIzj0EAwIw
        HDEaMBgGA1UEAwwRUmVsYXlTeW5jIFRlc3QgQ0EwIBcNMjUwMTAxMDAwMDAwWhgP
        MjEyNTAxMDEwMDAwMDBaMBgxFjAUBgNVBAMMDXJlbGF5LmV4YW1wbGUwWTATBgcq
        hkjOPQIBBggqhkjOPQMBBwNCAARwB4GHpuM23PPvXoyONB9ZfZqjUCpBXIy2WOx0
        FiHAAHY4UaN6Ju0Gno8g1KiGlYBOsXmsf29OXSDVE6++YnCEo2AwXjAYBgNVHREE
        ETAPgg1yZWxheS5leGFtcGxlMAwGA1UdEwEB/wQCMAAwEwYDVR0lBAwwCgYIKwYB
        BQUHAwEwHwYDVR0jBBgwFoAUH9tcQsH4X4rCcRs8L+6FxzfH4S8wCgYIKoZIzj0E
        AwIDSAAwRQIhAN3bUFdAlpKOsUbr+5WK1g0xrrgsWS1ybDZoSjECSFdfAiBnDZkp
        wXFyzsVuEk6Clxc1Bo/xgbMPxPcL9RTcM5V3/A==
        -----END CERTIFICATE-----
        """

    public static let otherHostKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbipe8mRP5N3SQEfH
        u4SiNCNzBHcOocyHKcDLTjsVDLihRANCAARwB4GHpuM23PPvXoyONB9ZfZqjUCpB
        XIy2WOx0FiHAAHY4UaN6Ju0Gno8g1KiGlYBOsXmsf29OXSDVE6++YnCE
        -----END PRIVATE KEY-----
        """

    public static func ca() throws -> NIOSSLCertificate {
        try NIOSSLCertificate(bytes: Array(caPEM.utf8), format: .pem)
    }

    /// A server context presenting `certificatePEM` (signed by the CA) with its key.
    public static func serverContext(_ certificatePEM: String, key keyPEM: String) throws -> NIOSSLContext {
        let certificate = try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem)
        let key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
        return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(key)))
    }
}
