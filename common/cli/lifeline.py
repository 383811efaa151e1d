"""Child processes that end with their parent, SIGKILL of the parent included.

On Linux the kernel delivers a chosen signal to a child when its parent dies
(prctl PR_SET_PDEATHSIG); elsewhere these helpers do nothing. The setting survives execve,
is not inherited by the child's own children, and fires when the *thread* that started the
child exits, so start such children from a thread that lives as long as the process.
"""

import ctypes
import functools
import os
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
PrctlFn = Callable[[int, int, int, int, int], int]


@functools.cache
def _prctl(platform: str = sys.platform) -> PrctlFn | None:
    if not platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    fn.restype = ctypes.c_int
    prctl: PrctlFn = fn
    return prctl


def die_with_parent(sig: int, *, parent_pid: int) -> None:
    """Have this process receive `sig` when its parent dies; exit at once if it already has."""
    prctl = _prctl()
    if prctl is None:
        return
    if prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_PDEATHSIG, {sig}): {os.strerror(errno)}")
    # A parent that died between fork and prctl never triggers the signal: we were already
    # reparented, so the parent pid tells.
    if os.getppid() != parent_pid:
        os._exit(1)


def parent_death_hook(sig: int) -> Callable[[], None] | None:
    """A Popen `preexec_fn` tying the child to this process with `sig`; None off Linux."""
    if _prctl() is None:  # resolved here, before the fork, not in the child
        return None
    parent_pid = os.getpid()
    return functools.partial(die_with_parent, sig, parent_pid=parent_pid)
