// The RelayClient module.
