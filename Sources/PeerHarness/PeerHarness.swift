// Test-relay process management.
