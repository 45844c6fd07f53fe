import NIOSSL

/// A self-signed certificate for `localhost` and 127.0.0.1 (valid until 2126), made once with
/// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
/// -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1`. No system trusts it.
enum TLSFixture {
    static let certificatePEM = """
        -----BEGIN CERTIFICATE-----
        MIIBnDCCAUGgAwIBAgIUErY9VpBFw5+iE8mHGypZSJbUPRwwCgYIKoZIzj0EAwIw
        FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNjAxNDk0MVoYDzIxMjYxMTAy
        MDE0OTQxWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
        PQMBBwNCAARodIcgmCCS7+iGlJEjlaLE1p9heoPh9syrqTExSCs+x3WTeCbFMK+v
        rkXYEhGrwmHgBEDJlO0fwMcn4bZ8zcy5o28wbTAdBgNVHQ4EFgQUA0uZbOSR0eq9
        vdcREZXwxtBo9CAwHwYDVR0jBBgwFoAUA0uZbOSR0eq9vdcREZXwxtBo9CAwDwYD
        VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
        zj0EAwIDSQAwRgIhAJoB0xP285O2kulti4hlJe0ghLBn9JgW0x6v7e1hXMDkAiEA
        8T3QOqmJQlVM24DoAPF7jzdEPcx97sKKiXkWKIzym98=
        -----END CERTIFICATE-----
        """

    static let keyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgt2n0RmfSw04ifHBf
        SCjDiMfE0gmbqC7wQA9NLrC0nCehRANCAARodIcgmCCS7+iGlJEjlaLE1p9heoPh
        9syrqTExSCs+x3WTeCbFMK+vrkXYEhGrwmHgBEDJlO0fwMcn4bZ8zcy5
        -----END PRIVATE KEY-----
        """

    static func certificate() throws -> NIOSSLCertificate {
        try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem)
    }

    static func serverContext() throws -> NIOSSLContext {
        let key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
        return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: [.certificate(certificate())], privateKey: .privateKey(key)))
    }
}
