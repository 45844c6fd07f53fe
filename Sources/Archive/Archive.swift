// The Archive module.
