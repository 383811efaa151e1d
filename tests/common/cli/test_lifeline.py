"""Children that end with their parent: real processes, a parent killed with SIGKILL."""

import os
import signal
import subprocess
import sys
import textwrap

import psutil
import pytest

from common.cli.lifeline import _prctl, parent_death_hook
from tests.support.stack import wait_until

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG")

# A parent that starts one sleeping child tied to it with SIGTERM and prints its pid.
PARENT = textwrap.dedent("""
    import signal, subprocess, sys, time
    from common.cli.lifeline import parent_death_hook
    child = subprocess.Popen(["sleep", "60"], preexec_fn=parent_death_hook(signal.SIGTERM))
    print(child.pid, flush=True)
    time.sleep(60)
""")


@linux_only
def test_the_child_gets_its_signal_when_the_parent_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = psutil.Process(int(parent.stdout.readline()))
    try:
        parent.kill()
        parent.wait(timeout=10)
        wait_until(
            lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE,
            timeout_s=5, what="the child to end with its parent",
        )  # fmt: skip
    finally:
        parent.stdout.close()
        if child.is_running():
            child.kill()


@linux_only
def test_a_parent_gone_before_prctl_means_the_child_exits_at_once() -> None:
    code = (
        "import os, signal\n"
        "from common.cli.lifeline import die_with_parent\n"
        "die_with_parent(signal.SIGTERM, parent_pid=os.getpid())  # not our parent\n"
        "print('survived')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 1 and "survived" not in result.stdout, result.stderr


def test_the_hook_is_a_no_op_off_linux() -> None:
    assert _prctl("darwin") is None and _prctl("win32") is None
    hook = parent_death_hook(signal.SIGTERM)
    assert (hook is None) != sys.platform.startswith("linux")


@linux_only
def test_a_child_started_with_the_hook_runs_normally() -> None:
    result = subprocess.run(
        ["sh", "-c", "echo $PPID"], capture_output=True, text=True, timeout=30, check=True,
        preexec_fn=parent_death_hook(signal.SIGKILL),
    )  # fmt: skip
    assert int(result.stdout) == os.getpid()
