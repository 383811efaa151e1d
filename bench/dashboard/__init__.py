"""bench.dashboard: the shipped Grafana dashboard drawn from a short recorded run of the stack."""
