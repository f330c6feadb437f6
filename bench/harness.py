"""Shared benchmark harness: serve an app with gunicorn, load it from loopback, report latency
percentiles and throughput, and peak memory of a command.

Figures are only meaningful as ratios against a baseline taken in the same run (this machine is
shared and noisy): every benchmark also measures ``bench/hello_app.py`` under the same gunicorn
settings. Nothing here is a test; nothing asserts a timing.

    from bench.harness import serve, load
    with serve(env={"DATABASE_URL": url}) as base, serve(app="bench.hello_app:app") as hello:
        print(load(hello + "/", duration=10).line("hello"))
        print(load(base + "/forums/", duration=10).line("forum list"))
"""

from __future__ import annotations

import contextlib
import http.client
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# The project's virtualenv, or the interpreter's own (a git worktree sharing another checkout's).
VENV_BIN = ROOT / ".venv" / "bin"
if not (VENV_BIN / "gunicorn").exists():
    VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(
    app: str = "app:app",
    env: dict[str, str] | None = None,
    workers: int = 2,
    threads: int = 1,
    timeout: float = 60,
) -> Iterator[str]:
    """Run gunicorn on a free loopback port; yield its base URL; stop it afterwards."""
    port = free_port()
    environment = (
        os.environ
        | {
            "CONSULT_ENV": "production",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-secret-key-" + "x" * 32),
            "RATELIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
        }
        | (env or {})
    )
    command = [
        str(VENV_BIN / "gunicorn"),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--chdir",
        str(ROOT),
        app,
    ]
    process = subprocess.Popen(command, env=environment, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(port, process, timeout)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_ready(port: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not start in time")


@dataclass
class Result:
    label: str = ""
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    duration_s: float = 0.0

    @property
    def count(self) -> int:
        return len(self.latencies_ms)

    @property
    def rps(self) -> float:
        return self.count / self.duration_s if self.duration_s else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index]

    def line(self, label: str | None = None) -> str:
        return (
            f"{label or self.label:<34} {self.count:>7} req {self.rps:>8.1f} req/s  "
            f"p50 {self.percentile(50):6.1f} ms  p95 {self.percentile(95):6.1f} ms  "
            f"p99 {self.percentile(99):6.1f} ms  statuses {dict(sorted(self.statuses.items()))}"
            f"  errors {self.errors}"
        )

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "requests": self.count,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 2) if self.latencies_ms else None,
            "statuses": self.statuses,
            "errors": self.errors,
        }


Request = tuple[str, str, bytes | None, dict[str, str]]  # method, path, body, headers


def load(
    target: str | Callable[[int, int], Request],
    duration: float = 10.0,
    concurrency: int = 8,
    base: str | None = None,
    label: str = "",
    warmup: float = 1.0,
) -> Result:
    """Closed-loop load from ``concurrency`` keep-alive connections for ``duration`` seconds.

    ``target`` is a full URL (GET), or a callable (worker index, iteration) → request tuple
    for POSTs and varied paths, in which case ``base`` gives the server.
    """
    if isinstance(target, str):
        parts = urlsplit(target)
        base = f"{parts.scheme}://{parts.netloc}"
        path = parts.path + (f"?{parts.query}" if parts.query else "")

        def make(_w: int, _i: int) -> Request:
            return ("GET", path, None, {})

        factory = make
    else:
        factory = target
    assert base is not None
    netloc = urlsplit(base).netloc
    host, port = netloc.split(":")
    result = Result(label=label)
    lock = threading.Lock()
    start_measure = time.monotonic() + warmup
    stop = start_measure + duration

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        errors = 0
        iteration = 0
        while True:
            now = time.monotonic()
            if now >= stop:
                break
            method, path, body, headers = factory(index, iteration)
            iteration += 1
            measured = now >= start_measure  # requests during the warm-up are not counted
            began = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection(host, int(port), timeout=30)
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                continue
            elapsed = (time.perf_counter() - began) * 1000
            if measured:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()
        with lock:
            result.latencies_ms.extend(latencies)
            for key, value in statuses.items():
                result.statuses[key] = result.statuses.get(key, 0) + value
            result.errors += errors

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.duration_s = duration
    return result


def peak_memory_mb_of_children() -> float:
    """Peak resident memory of finished child processes (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def run_usage(command: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run a command to completion; return its wall seconds, CPU seconds (user + system) and
    peak RSS in MB, from the kernel's accounting through wait4 (GNU time's), so the figures
    are the command's own, not ours. On a shared machine the CPU time is the one to compare."""
    began = time.perf_counter()
    process = subprocess.Popen(command, env=os.environ | (env or {}), cwd=ROOT)
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command[0]} failed with status {status}")
    return {
        "seconds": seconds,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
    }


def run_measured(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """:func:`run_usage` as (seconds, peak RSS in MB)."""
    usage = run_usage(command, env)
    return usage["seconds"], usage["peak_mb"]


if __name__ == "__main__":
    # Smoke run: the hello-world baseline against itself.
    with serve(app="bench.hello_app:app") as hello:
        print(
            load(hello + "/", duration=float(sys.argv[1]) if len(sys.argv) > 1 else 3).line(
                "hello-world"
            )
        )
