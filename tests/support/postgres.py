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
    With `tls`, the server also takes TLS with a certificate for 127.0.0.1 and localhost signed
    by an authority of its own, whose certificate is `ca_file` (what a client verifies with).
    `url` is the superuser's server URL (no database); `stop()` removes everything."""

    def __init__(self, password=None, settings=None, port=None, tls=False):
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
        self.ca_file = None
        if tls:
            self.ca_file = self._certificates()
            options += f" -c ssl=on -c ssl_cert_file={self.folder}/server.crt -c ssl_key_file={self.folder}/server.key"
        for name, value in (settings or {}).items():
            options += f" -c {name}={value}"
        subprocess.run(self.run_as + [str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-l",
                                      str(self.folder / "log"), "-w", "-o", options, "start"],
                       check=True, capture_output=True)
        credentials = "postgres" if password is None else f"postgres:{password}"
        self.url = f"postgres://{credentials}@127.0.0.1:{self.port}"

    def _certificates(self):
        """An authority and a server certificate it signed (openssl); returns the authority's."""
        def openssl(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=self.folder)
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-days", "2", "-subj", "/CN=Cinema benchmark authority", "-keyout", "ca.key", "-out", "ca.crt")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr")
        (self.folder / "san.ext").write_text("subjectAltName = DNS:localhost, IP:127.0.0.1\n")
        openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", "san.ext", "-out", "server.crt")
        key = self.folder / "server.key"
        key.chmod(0o600)
        if self.run_as:
            shutil.chown(key, "nobody")
            shutil.chown(self.folder / "server.crt", "nobody")
        return self.folder / "ca.crt"

    def stop(self):
        subprocess.run(self.run_as + [str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m",
                                      "immediate", "stop"], capture_output=True, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)
