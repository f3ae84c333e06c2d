"""PostgreSQL for the tests and benchmarks: psql, and throwaway clusters of their own (a
connection limit to exhaust, a password to rotate) beside the server everything else uses."""
import os
import pathlib
import shutil
import subprocess
import tempfile

from tests.support.processes import free_port


def psql(url, sql):
    """Runs `sql` at `url`; its output, trimmed. Raises RuntimeError with psql's message."""
    done = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"psql: {done.stderr.strip()}")
    return done.stdout.strip()


def server_binaries():
    """The newest installed PostgreSQL's bin folder (initdb, pg_ctl)."""
    found = sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    return found[-1].parent


class Cluster:
    """A throwaway cluster on 127.0.0.1 (run as `nobody` when we are root, as initdb wants):
    trust authentication, or scram-sha-256 with `password`; `settings` as `-c` options.
    `url` is the superuser's server URL (no database); `stop()` removes everything."""

    def __init__(self, password=None, settings=None, port=None):
        self.bin = server_binaries()
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="cinema-pg-"))
        self.run_as = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        self.port = port or free_port()
        auth = ["--auth=trust"]
        if password is not None:
            pwfile = self.folder / "pwfile"
            pwfile.write_text(password + "\n")
            auth = ["--auth=scram-sha-256", f"--pwfile={pwfile}"]
        if self.run_as:
            shutil.chown(self.folder, "nobody")
            for item in self.folder.iterdir():
                shutil.chown(item, "nobody")
        subprocess.run(self.run_as + [str(self.bin / "initdb"), "-D", str(self.folder / "data"), "-U", "postgres",
                                      *auth], check=True, capture_output=True)
        options = f"-p {self.port} -k {self.folder} -h 127.0.0.1 -c fsync=off"
        for name, value in (settings or {}).items():
            options += f" -c {name}={value}"
        subprocess.run(self.run_as + [str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-l",
                                      str(self.folder / "log"), "-w", "-o", options, "start"],
                       check=True, capture_output=True)
        credentials = "postgres" if password is None else f"postgres:{password}"
        self.url = f"postgres://{credentials}@127.0.0.1:{self.port}"

    def stop(self):
        subprocess.run(self.run_as + [str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m",
                                      "immediate", "stop"], capture_output=True, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)
