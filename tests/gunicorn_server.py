"""A real gunicorn serving Beacon with several workers, for the tests that need more than
one process (limits shared by workers, lockout counted atomically across them)."""
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def serve(env: dict, workers: int = 4, access_log: Path | None = None, ready_timeout: float = 30):
    """Start `gunicorn -w <workers> 'app:create_app()'` on a free port with `env` added to
    this process's environment; yield its base URL once it answers; stop it after.
    With `access_log`, every request is logged there as "<worker pid> <status> <request line>"."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
               "--graceful-timeout", "2", "app:create_app()"]
    if access_log is not None:
        command += ["--access-logfile", str(access_log), "--access-logformat", "%(p)s %(s)s %(r)s"]
    errors = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a chatty server never blocks on it
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=errors, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if process.poll() is not None:
                errors.seek(0)
                raise RuntimeError(f"gunicorn exited ({process.returncode}): {errors.read()[-2000:]}")
            try:
                urllib.request.urlopen(base + "/login", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not answer in time")
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()  # our own process, by its id
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        errors.close()
