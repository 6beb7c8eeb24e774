#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Start-up reference for tools/bench/report.sh: the smallest useful
multiprocessing program, `multiprocessing.Pool(2).map` of a trivial function
over two items, end to end (interpreter start, pool start, map, pool exit).
It prints [0, 1], like the trivial flow graph tools/bench/startup.ini prints
its two items.
"""
import multiprocessing


def identity(x):
    return x


if __name__ == '__main__':
    with multiprocessing.Pool(2) as pool:
        print(pool.map(identity, range(2)))
