"""Child processes of the test and benchmark scripts: each in a process group of its own (so
that stopping it stops whatever it started), its output in a log file, all stopped at the end."""
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time


class Children:
    def __init__(self, log_dir):
        self.log_dir = pathlib.Path(log_dir)
        self.running = []

    def spawn(self, argv, logfile, env=None, cwd=None, append=False, preexec_fn=None):
        """Starts `argv` in a new process group, its output in `logfile` under the log folder;
        `preexec_fn` runs in the child before it executes `argv`."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        path = self.log_dir / logfile
        with open(path, "ab" if append else "wb") as out:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                       env=env, cwd=cwd, start_new_session=True,
                                       preexec_fn=preexec_fn)
        process.logfile = path
        self.running.append(process)
        return process

    def stop(self, process):
        """Stops a process started by `spawn` and everything in its group."""
        stop_group(process)
        if process in self.running:
            self.running.remove(process)

    def stop_all(self):
        for process in reversed(list(self.running)):
            self.stop(process)


def stop_group(process, seconds=5):
    """SIGTERM to the process's group, SIGKILL if it is still there after `seconds`."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def free_port():
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port):
    """Whether something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port, process, what, seconds=60):
    """Waits until `process` (started by `Children.spawn`) listens on `port`; exits if it dies."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} exited early (status {process.returncode}); see {process.logfile}")
        if listening(port):
            return
        time.sleep(0.1)
    sys.exit(f"{what} did not listen on port {port} within {seconds} s; see {process.logfile}")
