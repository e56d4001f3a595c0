"""Many reports in one command: every year, every commune sheet, on warm kernels.

Each job writes its own folder with the same rules as a single run (staging folder, atomic
swap, kept failing notebook). A failing job is reported with its year or commune and does
not stop the others; the caller learns which ones failed.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from mutualisation.data.problems import DataError
from mutualisation.run import interruption
from mutualisation.run.execute import Executor, usable_cores
from mutualisation.run.report import Interrupted, ReportError

#: A job: its label for people ("bilan 2019", "fiche 59350 Lille") and the work, which
#: receives the executor of a warm kernel and returns the folder it wrote.
Job = tuple[str, Callable[[Executor], Path]]


@dataclass(frozen=True)
class Outcome:
    """What became of one job."""

    label: str
    target: Path | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _Progress:
    """A tqdm bar on standard error showing done, running and failed runs."""

    def __init__(self, total: int, description: str):
        from tqdm import tqdm

        self._lock = threading.Lock()
        self._running = 0
        self._failed = 0
        self._bar = tqdm(total=total, desc=description, unit="rapport", file=sys.stderr,
                         dynamic_ncols=True, mininterval=0.5)
        self._show()

    def _show(self) -> None:
        # Drawn at the next update(), which honours mininterval: logs stay short.
        self._bar.set_postfix_str(f"en cours : {self._running}, échecs : {self._failed}",
                                  refresh=False)

    def started(self) -> None:
        with self._lock:
            self._running += 1
            self._show()

    def finished(self, outcome: Outcome) -> None:
        with self._lock:
            self._running -= 1
            if not outcome.ok:
                self._failed += 1
                self._bar.write(f"échec — {outcome.label} : {outcome.error}", file=sys.stderr)
            self._bar.update(1)
            self._show()

    def close(self) -> None:
        self._bar.close()


def default_workers() -> int:
    """One kernel per core."""
    return usable_cores()


def run_jobs(jobs: list[Job], description: str, workers: int | None = None) -> list[Outcome]:
    """Run ``jobs`` on a pool of warm kernels, in parallel; return outcomes in job order."""
    from mutualisation.run.kernels import KernelPool  # jupyter_client: 0.49 s measured here

    if not jobs:
        return []
    size = min(workers or default_workers(), len(jobs))
    progress = _Progress(len(jobs), description)

    def run(label: str, work: Callable[[Executor], Path], pool: KernelPool) -> Outcome:
        if interruption.requested.is_set():  # Ctrl-C: start no other report
            return Outcome(label, error="interrompu avant de commencer")
        progress.started()
        try:
            outcome = Outcome(label, target=work(pool.execute))
        except (ReportError, DataError) as err:
            outcome = Outcome(label, error=str(err).replace("\n", " ; "))
        except Exception as err:  # one broken run must not stop the others
            outcome = Outcome(label, error=f"{type(err).__name__} : {err}")
        progress.finished(outcome)
        return outcome

    outcomes: list[Outcome | None] = [None] * len(jobs)
    futures: dict[Future[Outcome], int] = {}
    try:
        with KernelPool(size=size) as pool, ThreadPoolExecutor(max_workers=size) as threads:
            for i, (label, work) in enumerate(jobs):
                futures[threads.submit(run, label, work, pool)] = i
            try:
                for future in as_completed(futures):
                    outcomes[futures[future]] = future.result()
            except KeyboardInterrupt:
                # Jobs not started are dropped; the ones running finish and publish whole
                # (leaving the with-block waits for them), so no folder is left half-done.
                for future in futures:
                    future.cancel()
                raise
    except KeyboardInterrupt:
        done = sum(1 for f in futures if f.done() and not f.cancelled() and f.result().ok)
        raise Interrupted(f"interrompu : {done} sur {len(jobs)} écrits, "
                          "les autres rapports n'ont pas été modifiés") from None
    finally:
        progress.close()
    return [o for o in outcomes if o is not None]
