"""`sketchlab bench analysis`: the whole report on a large simulated responses table, and the
mixed models alone on 100,000 trials."""

import json
import os
import resource
import tempfile
import time
from pathlib import Path

from analysis.sdt_observer import simulate_responses

MODEL_GOAL_S = 120
"""The mixed models (glmer, Laplace, both models) on 100,000 trials: at most 2 minutes."""
REPORT_GOAL_S = 60


def run_bench(
    n_trials: int = 1_000_000,
    n_participants: int = 20_000,
    json_out: Path | None = None,
    model_trials: int = 100_000,
) -> dict:
    """Simulate, write Parquet, build the whole report from the file; wall-clock and CPU
    seconds (CPU time shows the cost apart from other load on the machine; R's CPU is that of
    child processes), per-step timings, peak resident memory in MiB (whole process, from
    getrusage); then the mixed models alone on `model_trials` trials (50 per participant),
    the figure the analysis goal is stated for. The load average is recorded with it."""
    result = {"bench": "analysis", "load_average": [round(v, 2) for v in os.getloadavg()]}
    if n_trials:
        result.update(_report(n_trials, n_participants))
    if model_trials:
        result["model"] = _model(model_trials)
    result["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    if json_out is not None:
        from sketchlab.files import atomic_write

        with atomic_write(json_out) as handle:
            json.dump(result, handle, indent=2)
    return result


def _report(n_trials: int, n_participants: int) -> dict:
    from analysis.report import build_report

    started = time.perf_counter()
    table = simulate_responses(n_trials, n_participants)
    simulate_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="sketchlab-bench-") as folder:
        responses = Path(folder) / "responses.parquet"
        table.to_parquet(responses, index=False)
        del table
        started, cpu_started = time.perf_counter(), _cpu()
        timings = build_report(responses, Path(folder) / "report")
        report_s, report_cpu_s = time.perf_counter() - started, _cpu() - cpu_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "trials": n_trials,
        "participants": n_participants,
        "simulate_s": round(simulate_s, 2),
        "report_s": round(report_s, 2),
        "report_goal_s": REPORT_GOAL_S,
        "report_cpu_s": round(report_cpu_s, 2),
        "steps_s": {name: round(seconds, 2) for name, seconds in timings.items()},
        "peak_rss_mib": round(peak, 1),
    }


def _model(n_trials: int) -> dict:
    from analysis.glmm import fit_glmm

    trials = simulate_responses(n_trials, max(n_trials // 50, 1), attention_per_participant=0)
    started, cpu_started = time.perf_counter(), _cpu()
    fit = fit_glmm(trials)
    return {
        "trials": n_trials,
        "participants": max(n_trials // 50, 1),
        "fitted": fit.fitted,
        "method": fit.method or fit.reason,
        "seconds": round(time.perf_counter() - started, 2),
        "cpu_s": round(_cpu() - cpu_started, 2),
        "r_fit_s": round(fit.seconds, 2),
        "goal_s": MODEL_GOAL_S,
    }


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the R processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
