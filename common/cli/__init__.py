"""The `cortex` command and the local supervisor behind `cortex dev`.

`app` assembles the commands: `components` (run one component, or `dev` for all of them),
`queues` (status, pause, drain, replay, dead letters), `memory` (search, ingest-chats),
`recall` (the incident card, drawn by `card`). The
supervisor is `dev` with `procs` (child processes), `redisserver` (a throwaway or embedded
redis-server) and `lifeline` (children die with their parent). It starts gateway and workers
by module path and never imports them; it may import everything else in `common`.
"""

from common.cli.app import main

__all__ = ["main"]
