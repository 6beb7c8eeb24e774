#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Uneven workers, the reference of tools/bench/balance.sh:
`multiprocessing.Pool(W).imap_unordered(task, range(N), chunksize=1)`, where
worker 0 spends SLOW_MS on each task and the others FAST_MS (sleeping, so
the figure is about how the tasks are dealt, not about the CPU). A Pool's
workers take the next task from a shared queue when they are done: dealing
by demand. It prints how many tasks arrived and how many worker 0 did.

    uneven.py N SLOW_MS FAST_MS [WORKERS]
"""
import multiprocessing
import sys
import time

_index = None


def _init(counter):
    global _index
    with counter.get_lock():
        _index = counter.value
        counter.value += 1


def task(x):
    time.sleep((SLOW if _index == 0 else FAST) / 1000.0)
    return _index


if __name__ == '__main__':
    n, SLOW, FAST = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    workers = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    counter = multiprocessing.Value('i', 0)
    # fork: the workers inherit SLOW and FAST.
    ctx = multiprocessing.get_context('fork')
    with ctx.Pool(workers, initializer=_init, initargs=(counter,)) as pool:
        done = list(pool.imap_unordered(task, range(n), chunksize=1))
    print(len(done), sum(1 for i in done if i == 0))
