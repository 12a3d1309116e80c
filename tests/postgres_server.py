"""A real PostgreSQL 16 server on a free 127.0.0.1 port, from the binaries the `pgserver` wheel ships (test extra).

Password authentication over TCP (scram-sha-256), so URLs carry a real secret the ledger must never print.
Run as root, the server runs as the system user `pgserver` (PostgreSQL refuses root), created by pgserver's helper.
Its data folder is a fresh folder under the system temp dir, not pytest's tmp_path: every new pytest session resets
/tmp/pytest-of-<user> to mode 0700, which cut a running server (another user) off its own files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
import warnings
from pathlib import Path

from tests.redis_server import free_port, wait_for_port

PASSWORD = "s3cret-Pw-for-tests"
_WATCHDOG = """
import os, shutil, subprocess, sys, time
parent, pg_ctl, pgdata, root, user = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] or None
while os.path.isdir(root):
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        subprocess.run([pg_ctl, "-D", pgdata, "-m", "immediate", "-w", "stop"], user=user, capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
        break
    time.sleep(1)
"""


def _pgserver():
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR when pgserver is imported
        warnings.simplefilter("ignore")
        import pgserver
        import pgserver._commands as commands
        from pgserver import utils
    return pgserver, commands, utils


def _readable_install(install: Path) -> Path:
    """The wheel's PostgreSQL install (`pgserver/pginstall`) and its bundled libraries (`pgserver.libs`, which the
    binaries find at $ORIGIN/../../../pgserver.libs), copied once to a world-readable folder under the system temp dir.

    As root the server runs as the user `pgserver`, which cannot reach binaries inside a virtualenv under a 0700
    folder (a clone made with mktemp -d, as CI may do): initdb then fails with 'Permission denied'."""
    from importlib.metadata import version

    site = install.parent.parent  # .../site-packages
    target = Path(tempfile.gettempdir()) / f"ravebear-pgserver-{version('pgserver')}"
    if not (target / "pgserver" / "pginstall" / "bin" / "initdb").exists():
        staging = Path(tempfile.mkdtemp(prefix="ravebear-pgserver-", dir=tempfile.gettempdir()))
        staging.chmod(0o755)
        shutil.copytree(install, staging / "pgserver" / "pginstall", symlinks=True)
        shutil.copytree(site / "pgserver.libs", staging / "pgserver.libs", symlinks=True)
        try:
            os.rename(staging, target)  # atomic: another worker's copy may have won
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return target / "pgserver" / "pginstall"


class PostgresServer:
    """initdb + pg_ctl in a fresh temp folder; `url(db)` for SQLAlchemy; `stop()` / `start()` to take it away and back.

    A watchdog process stops the server and removes its folder if this process dies without `close()` (a killed
    pytest worker), so no server outlives its tests."""

    def __init__(self) -> None:
        _, commands, utils = _pgserver()
        self.bin = commands.POSTGRES_BIN_PATH
        if os.geteuid() == 0:
            self.bin = _readable_install(self.bin.parent) / "bin"
        self.root = Path(tempfile.mkdtemp(prefix="ravebear-pg-"))
        self.root.chmod(0o755)
        workdir = self.root
        self.pgdata = workdir / "pgdata"
        self.pgdata.mkdir()
        self.user = None
        if os.geteuid() == 0:
            import pwd

            self.user = "pgserver"
            utils.ensure_user_exists(self.user)
            utils.ensure_prefix_permissions(self.pgdata)
            entry = pwd.getpwnam(self.user)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        pwfile = workdir / "pw.txt"
        pwfile.write_text(PASSWORD + "\n")
        pwfile.chmod(0o644)
        self._run("initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
                  f"--pwfile={pwfile}", "--encoding=UTF8", "--no-sync")  # fmt: skip
        pwfile.unlink()
        self.port = free_port()
        self.start()
        subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(self.bin / "pg_ctl"), str(self.pgdata), str(self.root), self.user or ""],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip

    def _run(self, program: str, *args: str, timeout: float = 60) -> None:
        done = subprocess.run([str(self.bin / program), *args], check=False, capture_output=True, text=True, timeout=timeout, user=self.user)
        if done.returncode != 0:
            log = self.pgdata / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()} {done.stdout.strip()[-500:]} {tail}")

    def start(self) -> None:
        """Start (again) on the same port and wait until it accepts connections."""
        options = f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.pgdata), "-o", options, "-l", str(self.pgdata / "log"), "-w", "start")
        if wait_for_port(self.port, 20):
            return
        raise RuntimeError(f"postgres did not start on port {self.port}")

    def stop(self) -> None:
        """Stop it now (fast shutdown: open connections are cut, as when the server goes away)."""
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", "immediate", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL with the password in it."""
        return f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database (a unique name by default, so parallel tests never share one); returns its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        """Stop it and remove its folder."""
        try:
            self.stop()
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.root, ignore_errors=True)
