"""`sketchlab bench analysis`: the whole report on a large simulated responses table."""

import json
import resource
import tempfile
import time
from pathlib import Path

from analysis.synthetic import simulate_responses


def run_bench(
    n_trials: int = 1_000_000, n_participants: int = 20_000, json_out: Path | None = None
) -> dict:
    """Simulate, write Parquet, build the whole report from the file; wall-clock and CPU
    seconds (CPU time shows the cost apart from other load on the machine), per-step
    timings, peak resident memory in MiB (whole process, from getrusage)."""
    from analysis.report import build_report

    started = time.perf_counter()
    table = simulate_responses(n_trials, n_participants)
    simulate_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="sketchlab-bench-") as folder:
        responses = Path(folder) / "responses.parquet"
        table.to_parquet(responses, index=False)
        del table
        started, cpu_started = time.perf_counter(), time.process_time()
        timings = build_report(responses, Path(folder) / "report")
        report_s, report_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "bench": "analysis",
        "trials": n_trials,
        "participants": n_participants,
        "simulate_s": round(simulate_s, 2),
        "report_s": round(report_s, 2),
        "report_goal_s": 60,
        "report_cpu_s": round(report_cpu_s, 2),
        "steps_s": {name: round(seconds, 2) for name, seconds in timings.items()},
        "peak_rss_mib": round(peak, 1),
    }
    if json_out is not None:
        from sketchlab.files import atomic_write

        with atomic_write(json_out) as handle:
            json.dump(result, handle, indent=2)
    return result
