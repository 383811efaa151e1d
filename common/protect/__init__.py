"""Protection of the embedding node: every call passes the guard, whose state lives in Redis.

The guard (`guard`) combines the circuit breaker (`breaker`), the shared concurrency slots
(`slots`), the latency-driven limit (`adaptive`) and its pace (`pace`: batch size, timeout and
slow-call rule relative to the learned speed), and the cluster-wide rate limits (`ratelimit`).
Work refused for a while is parked and replayed (`parking`, `drain`), alert storms become
digests (`digest`), and `telemetry` exports what all of them decide. May import the shared
contract (`common`'s own modules) and nothing else of the project.
"""
