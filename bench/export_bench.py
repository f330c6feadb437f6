"""The questionnaire's responses CSV at scale: wall time, CPU time and peak memory of
``flask surveys export --format csv`` on a filled database (it only reads).

    python -m bench.export_bench --database-url postgresql://postgres@127.0.0.1:5432/bench_gd

Budget at gd (1.4M responses): ≤ 90 s and ≤ 300 MB peak. The command's own CPU time is given
beside the wall time: on a shared machine the wall time mostly says how busy the others were.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.harness import ROOT, VENV_BIN


def measure(command: list[str], env: dict[str, str]) -> dict[str, float]:
    began = time.perf_counter()
    process = subprocess.Popen(command, env=os.environ | env, cwd=ROOT)
    _pid, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command} failed with status {status}")
    return {
        "wall_s": time.perf_counter() - began,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--separator", default=";", choices=[";", ","])
    args = parser.parse_args()
    engine = create_engine(args.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        total = conn.scalar(text("SELECT count(*) FROM survey_response"))
    engine.dispose()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reponses.csv"
        figures = measure(
            [
                str(VENV_BIN / "flask"),
                "--app",
                "app",
                "surveys",
                "export",
                "--format",
                "csv",
                "--separator",
                args.separator,
                "-o",
                str(out),
            ],
            {"DATABASE_URL": args.database_url},
        )
        size = out.stat().st_size / 1e6
    print(
        f"CSV export of {total} responses: {figures['wall_s']:.1f} s wall, "
        f"{figures['cpu_s']:.1f} s CPU, peak {figures['peak_mb']:.0f} MB, {size:.0f} MB written, "
        f"{total / figures['wall_s']:.0f} rows/s (load average {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    sys.exit(main())
