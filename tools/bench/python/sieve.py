#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The article's parallel prime sieve (collect_primes / sieve / send_primes
over multiprocessing Pipes), with its bug fixed (reference for
tools/bench/report.sh, not part of flow).

    sieve.py LIMIT [--segments S] [--count]   primes <= LIMIT, one per line,
                                              or only their number
    sieve.py --selftest                       check against a plain sieve
    sieve.py --article [--unfixed]            the article's own example,
                                              ranges (10, 30) and (30, 50)

The code below is the article's, line for line, except for two marked
changes (FIX 1, FIX 2). The article's printed run,

    >>> collect_primes(ranges=((10, 30), (30, 50)))
    [2, 3, 5, 7, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 35, 37, 39, ...]

keeps composites. The cause: `send_primes()` is handed
`zip(first_numbers[i:], last_numbers[i:])`, which in Python 3 is a one-shot
iterator. The inner loop `for conn, limit in zip(conns, limits)` exhausts it
while sending the first prime, so every later prime of the batch (3, 5, 7
and every prime a segment returns after its first) never reaches any
segment, and their multiples stay. FIX 1 passes a list. FIX 2 is the index
arithmetic in `sieve()`: `number % first` is the offset of `number` in the
segment only while number < 2 * first; `number - first` always is.
`--unfixed` runs the verbatim functions and reproduces the article's output.

LIMIT is split as in the article's example: the seeds 2, 3, 5, 7 are known,
and [10, LIMIT + 1) is cut into S contiguous ranges (default: one per CPU,
like Pool()), one Process and one Pipe each.
"""
import multiprocessing
import sys
import time
from multiprocessing import Pipe, Process


def sieve(first, last, conn):
    start = time.time()
    numbers = list(range(first, last))
    while (True):
        number, skip = conn.recv()
        if number == -1:
            # start working on its own primes
            for i, n in enumerate(numbers):
                if n == 0 or n * n > last:
                    continue
                for j in range(i + n, len(numbers), n):
                    numbers[j] = 0
            conn.send([n for n in numbers if n > 0])
            return
        else:
            index = number - first  # FIX 2: the article has number % first
            i = None
            for i in range(index, len(numbers), skip):
                numbers[i] = 0


def collect_primes(ranges, unfixed=False):
    """Start multiple processes and calculate all the
    primes in the input ranges
    ranges - a list of pairs that represent a contiguous range of integers
    """
    # Init (prepare pipes, processes, ranges and conections)
    pipes = []
    parent_conn, child_conn = Pipe()
    pipes.append(parent_conn)
    processes = []
    conns = []
    for i, r in enumerate(ranges):
        parent_conn, child_conn = Pipe()
        conns.append(parent_conn)
        p = Process(target=sieve_article if unfixed else sieve,
                    args=[r[0], r[1], child_conn])
        processes += [p]
        p.start()
    # A list of the first number each process is reponsible for
    first_numbers = [r[0] for r in ranges]
    last_numbers = [r[1] for r in ranges]
    # Initial known primes
    all_primes = [2, 3, 5, 7]
    # The primes to send to the current process
    primes = all_primes
    for i in range(len(conns)):
        # Send primes to all downstream processes
        limits = zip(first_numbers[i:], last_numbers[i:])
        if not unfixed:
            limits = list(limits)  # FIX 1: zip() is a one-shot iterator
        send_primes(primes, conns[i:], limits)
        # Tell the current process no more primes are coming
        conns[i].send((-1, None))
        # Receive the primes of the current process
        primes = conns[i].recv()
        all_primes += primes
    # All processes should be done by now
    for p in processes:
        p.join()
    return all_primes


def send_primes(primes, conns, limits):
    for prime in primes:
        for conn, limit in zip(conns, limits):
            n = limit[0]
            last = limit[1]
            if n % prime == 0:
                number = n
            else:
                number = n + (prime - n % prime)
            if number < last:
                conn.send((number, prime))


def sieve_article(first, last, conn):
    """The article's sieve(), verbatim (for --unfixed only)."""
    start = time.time()
    numbers = list(range(first, last))
    while (True):
        number, skip = conn.recv()
        if number == -1:
            for i, n in enumerate(numbers):
                if n == 0 or n * n > last:
                    continue
                for j in range(i + n, len(numbers), n):
                    numbers[j] = 0
            conn.send([n for n in numbers if n > 0])
            return
        else:
            index = number % first
            i = None
            for i in range(index, len(numbers), skip):
                numbers[i] = 0


def primes_upto(limit, segments):
    """The primes <= limit with `segments` sieve processes."""
    if limit < 10:
        return [p for p in (2, 3, 5, 7) if p <= limit]
    lo, hi = 10, limit + 1
    segments = max(1, min(segments, hi - lo))
    bounds = [lo + (hi - lo) * k // segments for k in range(segments + 1)]
    ranges = [(bounds[k], bounds[k + 1]) for k in range(segments)]
    return collect_primes(ranges)


def plain_sieve(limit):
    """An independent oracle: the textbook sieve."""
    if limit < 2:
        return []
    is_prime = bytearray([1]) * (limit + 1)
    is_prime[0] = is_prime[1] = 0
    for p in range(2, int(limit ** 0.5) + 1):
        if is_prime[p]:
            is_prime[p * p::p] = bytearray(len(range(p * p, limit + 1, p)))
    return [n for n in range(limit + 1) if is_prime[n]]


def selftest():
    bad = 0
    for limit in (0, 1, 2, 3, 7, 10, 11, 12, 29, 30, 31, 49, 50, 97, 100,
                  121, 1000, 7919, 10007, 65536, 100000):
        for segments in (1, 2, 3, 4, 7):
            got = primes_upto(limit, segments)
            if got != plain_sieve(limit):
                print(f'MISMATCH limit={limit} segments={segments}')
                bad += 1
    if primes_upto(49, 2) != plain_sieve(49):
        bad += 1
    print('selftest:', 'FAILED' if bad else 'ok')
    return 1 if bad else 0


def main(argv):
    if '--selftest' in argv:
        return selftest()
    if '--article' in argv:
        print(collect_primes(((10, 30), (30, 50)), '--unfixed' in argv))
        return 0
    count = '--count' in argv
    segments = multiprocessing.cpu_count()
    args = [a for a in argv if a != '--count']
    if '--segments' in args:
        k = args.index('--segments')
        segments = int(args[k + 1])
        del args[k:k + 2]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    primes = primes_upto(int(float(args[0])), segments)
    if count:
        print(len(primes))
    else:
        sys.stdout.write(''.join(f'{p}\n' for p in primes))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
