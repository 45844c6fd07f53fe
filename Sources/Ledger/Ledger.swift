// The Ledger module.
