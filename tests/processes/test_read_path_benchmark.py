"""The read-path benchmark (README, Performance) keeps working as the API grows: its two
baselines must answer every request with exactly TenantCore's document, or the comparison is
between unequal work and the benchmark refuses to measure. A field added to the mailbox list or
usage without the baselines following it fails here, not on the next benchmark run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.databases import server_url

REPOSITORY = Path(__file__).resolve().parents[2]


def test_the_read_path_benchmark_measures_equal_documents_on_a_small_seed() -> None:
    argv = [sys.executable, "-m", "benchmarks.read_path"]
    argv += ["--large", "40", "--others", "1", "--requests", "20", "--clients", "2"]
    admin_url = server_url()
    if admin_url is not None:
        argv += ["--database-url", admin_url]
    finished = subprocess.run(  # noqa: S603
        argv, cwd=REPOSITORY, capture_output=True, text=True, timeout=600, check=False
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    for server in (
        "floor (plain driver + orjson)",
        "TenantCore",
        "textbook (ORM + response_model)",
    ):
        for size in ("36", "40", "usage"):
            assert f"| {server} | {size} |" in finished.stdout
