// The NostrCore module.
