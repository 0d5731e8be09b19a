#!/usr/bin/env python3
"""Run a server as a child of the calling process's lifetime.

Usage: child-of.py PARENT_PID -- COMMAND ARGS...

Starts COMMAND, then stops it (by its PID, SIGTERM then SIGKILL) when PARENT_PID is gone or when this
wrapper gets SIGTERM. Test processes have no global teardown hook, so a server they start would
otherwise outlive a crashed or interrupted test run.
"""
import signal
import subprocess
import sys
import time

from parent_watch import alive


def main() -> int:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    parent = int(sys.argv[1])
    # A test runner's thread may spawn us with SIGTERM blocked (its signal mask is inherited), and then the
    # stop below would never run, nor would the server's own handler: unblock both for us and the child.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    child = subprocess.Popen(sys.argv[3:], stdin=subprocess.DEVNULL)

    def stop(*_):
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while child.poll() is None:
        if not alive(parent):
            stop()
        time.sleep(0.3)
    return child.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
