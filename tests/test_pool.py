"""The build's worker pool (``publish.pool``): it knows its own worker processes, without reaching into
``concurrent.futures``, and can kill a pool that answers nothing."""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent import futures

import psutil
import pytest

from mineral_analysis.publish import pool


@pytest.mark.slow
def test_a_stalled_pool_is_killed_through_its_own_record_of_its_workers():
    context = multiprocessing.get_context("forkserver")
    workers = pool.Workers(context)
    executor = futures.ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=pool._worker_init, initargs=(os.getpid(), workers.started)
    )
    try:
        pid = executor.submit(os.getpid).result(timeout=120)
        assert [p.pid for p in workers.processes()] == [pid]
        stalled = executor.submit(time.sleep, 600)  # a worker that answers nothing
        time.sleep(0.5)
        started = time.monotonic()
        workers.kill()
        with pytest.raises(futures.process.BrokenProcessPool):
            stalled.result(timeout=60)
        assert time.monotonic() - started < 60
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert workers.processes() == []  # an exited worker is not "known" any more, whatever reuses its pid
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
