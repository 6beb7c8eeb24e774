#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The side-by-side benchmark report (issue 8); run it through report.sh.

    tools/bench/report.py --root ROOT --build BUILD_DIR --out docs/bench

Runs every comparison in one run on this machine, each command several
times, repetitions of the commands of one size interleaved (round robin) so
that a burst of load from elsewhere hits them alike, and writes
OUT/report.md, OUT/results.json (every measurement) and one PNG per
workload (gnuplot). Every figure and ratio in the report is computed here
from numbers measured in this run; none is typed in.

Timing and memory of one run: the command runs under GNU time (/usr/bin/time
-f %M), started with fork/exec and reaped with wait4(); wall time is
perf_counter around that (GNU time's own start, about a millisecond, is in
every command's figure alike), and peak RSS is GNU time's %M: ru_maxrss of
the command, which is the largest peak of the process and of every
descendant it reaped. (GNU time rather than wait4's own rusage: a child
forked from this Python process inherits its peak RSS across exec.) For flowrun
that is the largest single process of the graph (the launcher reaps every
instance); each flow run also writes --stats-json (the counters are kept
whatever the options; the file is written after the run), from which the
report adds the sum of the instances' peaks.

Knobs (environment): REPS (runs per command and size, default 5), REPS_SLOW
(when the first run took over 2 s, default 3), REPS_FAST (when it took under
0.25 s, where a millisecond of scheduling is a few per cent, default 15), PY_MAX (skip Python sizes
projected to take longer, seconds, default 30), MAX_S (the same for the
others, default 60), PAL_SIZES, SIEVE_LIMITS, SCALE_LIMITS, STARTUP_REPS
(default 20), PUSH_RUNS, PUSH_SECS, PUSH_BATCHES (passed to push.sh as
RUNS, SECS, BATCHES), BALANCE_RUNS (passed to balance.sh as RUNS, default
5), SKIP (comma list of workloads to leave out: palindromes, sieve,
startup, transport, balance).
"""
import argparse
import ast
import datetime
import hashlib
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def env_int(name, default):
    return int(float(os.environ.get(name, default)))


def env_list(name, default):
    return [int(float(x)) for x in os.environ.get(name, default).split()]


REPS = env_int('REPS', 5)
REPS_SLOW = env_int('REPS_SLOW', 3)
REPS_FAST = env_int('REPS_FAST', 15)
PY_MAX = float(os.environ.get('PY_MAX', 30))
MAX_S = float(os.environ.get('MAX_S', 60))
PAL_SIZES = env_list('PAL_SIZES', '1e4 1e5 1e6 1e7 1e8')
SIEVE_LIMITS = env_list('SIEVE_LIMITS', '1e5 1e6 1e7 1e8 1e9 1e10')
SCALE_LIMITS = env_list('SCALE_LIMITS', '1e9 1e10')
STARTUP_REPS = env_int('STARTUP_REPS', 20)
SKIP = set(filter(None, os.environ.get('SKIP', '').split(',')))
RUN_TIMEOUT = 180.0


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def loadavg():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


# ---------------------------------------------------------------- running

class Failed(Exception):
    pass


def run_once(cmd, tmp, tag, stats=False, gnu_time=True):
    """Run cmd; return dict(wall, rss_kb, out, [flow_sum_kb, flow_max_kb]).
    Without gnu_time, cmd runs bare and rss_kb is 0 (not measured)."""
    out_path = os.path.join(tmp, tag + '.out')
    err_path = os.path.join(tmp, tag + '.err')
    cmd = list(cmd)
    json_path = None
    if stats:
        json_path = os.path.join(tmp, tag + '.json')
        cmd += ['--stats-json', json_path]
    rss_path = os.path.join(tmp, tag + '.rss')
    # GNU time reports its child's ru_maxrss: a child of this (large)
    # Python process would inherit its peak across exec.
    if gnu_time:
        cmd = ['/usr/bin/time', '-f', '%M', '-o', rss_path] + cmd
    with open(out_path, 'wb') as out, open(err_path, 'wb') as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        timer = threading.Timer(RUN_TIMEOUT, os.killpg, (p.pid, 9))
        timer.start()
        _, status, ru = os.wait4(p.pid, 0)
        t1 = time.perf_counter()
        timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        with open(err_path, errors='replace') as f:
            raise Failed(f'{" ".join(cmd)}: exit {p.returncode}: {f.read()[-2000:]}')
    with open(out_path, 'rb') as f:
        data = f.read()
    rss_kb = 0
    if gnu_time:
        with open(rss_path) as f:
            rss_kb = int(f.read().split()[-1])
    r = {'wall': t1 - t0, 'rss_kb': rss_kb, 'out': data}
    if json_path:
        with open(json_path) as f:
            st = json.load(f)
        peaks = [i['max_rss_kb'] for n in st['nodes'] for i in n['instances']]
        r['flow_sum_kb'] = sum(peaks)
        r['flow_max_kb'] = max(peaks)
        r['procs'] = len(peaks)
        nodes = {}
        for n in st['nodes']:
            insts = n['instances']
            nodes[n['name']] = {'type': n['type'], 'instances': len(insts), **{
                k: sum(i[k] for i in insts)
                for k in ('cpu_s', 'busy_s', 'send_blocked_s', 'recv_wait_s')}}
        r['nodes'] = nodes
    return r


def summary(vals):
    return {'median': statistics.median(vals), 'min': min(vals),
            'max': max(vals), 'n': len(vals)}


class Series:
    """One command line of a workload (a label), measured at several sizes."""

    def __init__(self, label, make_cmd, cap, flow=False, sizes=None, check=None,
                 gnu_time=True):
        self.label = label
        self.gnu_time = gnu_time
        self.make_cmd = make_cmd
        self.cap = cap
        self.flow = flow
        self.sizes = sizes
        self.check = check
        self.results = {}   # size -> dict
        self.skipped = {}   # size -> reason
        self.last = None    # (size, median)

    def wants(self, size):
        return self.sizes is None or size in self.sizes


def measure(workload, series, sizes, tmp, growth=1.0, nreps=None):
    """Measure every series at every size, interleaved within a size."""
    for size in sizes:
        active = []
        for s in series:
            if not s.wants(size):
                continue
            if s.last:
                psize, pmed = s.last
                est = pmed * (size / psize) ** growth
                if est > s.cap:
                    s.skipped[size] = (f'projected {est:.0f} s from {pmed:.2f} s at '
                                       f'{fmt_size(psize)} > cap {s.cap:.0f} s')
                    log(f'  {workload} {s.label} {fmt_size(size)}: skipped ({s.skipped[size]})')
                    continue
            active.append(s)
        runs = {s.label: [] for s in active}
        reps = {}
        r = 0
        while True:
            todo = [s for s in active if r == 0 or r < reps[s.label]]
            if not todo:
                break
            for s in todo:
                tag = f'{workload}-{re.sub("[^A-Za-z0-9]+", "_", s.label)}-{size}-{r}'
                try:
                    res = run_once(s.make_cmd(size), tmp, tag, stats=s.flow,
                                   gnu_time=s.gnu_time)
                except Failed as e:
                    s.skipped[size] = 'FAILED: ' + str(e).splitlines()[0][:300]
                    log(f'  {workload} {s.label} {fmt_size(size)}: {s.skipped[size]}')
                    reps[s.label] = 0
                    runs[s.label] = None
                    continue
                if s.check:
                    msg = s.check(size, res['out'])
                    res['check'] = msg
                runs[s.label].append(res)
                if r == 0:
                    reps[s.label] = nreps or (REPS_FAST if res['wall'] < 0.25 else
                                              REPS if res['wall'] < 2 else REPS_SLOW)
            active = [s for s in active if runs[s.label] is not None]
            r += 1
        for s in active:
            rs = runs[s.label]
            d = {'wall': summary([x['wall'] for x in rs]),
                 'rss_kb': summary([x['rss_kb'] for x in rs]),
                 'walls': [x['wall'] for x in rs],
                 'checks': sorted(set(x.get('check') or 'ok' for x in rs))}
            if s.flow:
                d['flow_sum_kb'] = summary([x['flow_sum_kb'] for x in rs])
                d['flow_max_kb'] = summary([x['flow_max_kb'] for x in rs])
                d['procs'] = rs[0]['procs']
                mid = min(rs, key=lambda x: abs(x['wall'] - d['wall']['median']))
                d['nodes'] = mid['nodes']
            d['output'] = rs[0]['out'][:200].decode(errors='replace')
            s.results[size] = d
            s.last = (size, d['wall']['median'])
            log(f'  {workload} {s.label} {fmt_size(size)}: median {d["wall"]["median"]:.4f} s '
                f'({d["wall"]["n"]} runs), rss {d["rss_kb"]["median"]} KB, check {d["checks"]}')


# ---------------------------------------------------------------- formatting

def fmt_size(n):
    if n >= 10 and n == 10 ** round(math.log10(n)):
        return f'10^{round(math.log10(n))}'
    return str(n)


def fmt_s(x):
    if x < 0.1:
        return f'{x * 1000:.1f} ms'
    if x < 10:
        return f'{x:.3f} s'
    return f'{x:.1f} s'


def fmt_cell(d):
    if d is None:
        return '–'
    w = d['wall']
    return f'{fmt_s(w["median"])} ({fmt_s(w["min"])}–{fmt_s(w["max"])}, n={w["n"]})'


def fmt_mb(kb):
    return f'{kb / 1024:.1f}'


def fmt_ratio(x):
    if x is None:
        return '–'
    if x >= 100:
        return f'{x:.0f}x'
    if x >= 10:
        return f'{x:.1f}x'
    return f'{x:.2f}x'


def med(series, size):
    d = series.results.get(size)
    return d['wall']['median'] if d else None


def cell_or_skip(series, size):
    if size in series.results:
        return fmt_cell(series.results[size])
    if size in series.skipped:
        r = series.skipped[size]
        return 'failed' if r.startswith('FAILED') else 'skipped'
    return '–'


def table(header, rows):
    lines = ['| ' + ' | '.join(header) + ' |',
             '| ' + ' | '.join('---' for _ in header) + ' |']
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def met(ok):
    return 'met' if ok else '**not met**'


# ---------------------------------------------------------------- gnuplot

def gnuplot(out_dir, name, script, datasets):
    """Write datasets (name -> rows) next to a gnuplot script and run it."""
    d = tempfile.mkdtemp(prefix='flow-bench-plot.')
    try:
        for ds, rows in datasets.items():
            with open(os.path.join(d, ds + '.dat'), 'w') as f:
                for row in rows:
                    f.write(' '.join(str(x) for x in row) + '\n')
        png = os.path.join(out_dir, name + '.png')
        head = (f"set terminal pngcairo size 900,560 noenhanced font 'sans,10'\n"
                f"set output '{png}'\nset key top left\nset grid\ncd '{d}'\n")
        with open(os.path.join(d, 'plot.gp'), 'w') as f:
            f.write(head + script)
        subprocess.run(['gnuplot', os.path.join(d, 'plot.gp')], check=True)
        return name + '.png'
    finally:
        shutil.rmtree(d, ignore_errors=True)


def series_rows(s):
    rows = []
    for size in sorted(s.results):
        w = s.results[size]['wall']
        rows.append((size, w['median'], w['min'], w['max']))
    return rows


def rss_rows(s, key='rss_kb'):
    return [(size, s.results[size][key]['median'] / 1024) for size in sorted(s.results)]


def rss_table(series, sizes, head):
    """Markdown table of the median peak RSS of each series at each size;
    flow series add the sum over their processes."""
    rows = []
    for n in sizes:
        row = [fmt_size(n)]
        for s in series:
            d = s.results.get(n)
            if not d:
                row.append('–')
            elif s.flow:
                row.append(f'{fmt_mb(d["rss_kb"]["median"])} (sum of {d["procs"]}: '
                           f'{fmt_mb(d["flow_sum_kb"]["median"])})')
            else:
                row.append(fmt_mb(d['rss_kb']['median']))
        rows.append(row)
    return table([head] + [s.label for s in series], rows)


def lines_plot(out_dir, name, title, xlabel, series, ylabel='wall time, s (median, bars min-max)'):
    datasets, plots = {}, []
    for k, s in enumerate(series):
        rows = series_rows(s)
        if not rows:
            continue
        datasets[f's{k}'] = rows
        plots.append(f"'s{k}.dat' using 1:2:3:4 with yerrorlines lw 2 pt 7 title '{s.label}'")
    script = (f"set title '{title}'\nset logscale xy\nset format x '10^%T'\n"
              f"set xlabel '{xlabel}'\nset ylabel '{ylabel}'\n"
              'plot ' + ', \\\n  '.join(plots) + '\n')
    return gnuplot(out_dir, name, script, datasets)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--root', required=True)
    ap.add_argument('--build', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--command', default='tools/bench/report.sh')
    args = ap.parse_args()
    root, build, out_dir = args.root, args.build, args.out
    os.makedirs(out_dir, exist_ok=True)
    flowrun = os.path.join(build, 'bin', 'flowrun')
    pal_ref = os.path.join(build, 'bin', 'palindromes_ref')
    sieve_ref = os.path.join(build, 'bin', 'sieve_ref')
    py = sys.executable
    pydir = os.path.join(root, 'tools', 'bench', 'python')
    for exe in (flowrun, pal_ref, sieve_ref):
        if not os.access(exe, os.X_OK):
            sys.exit(f'report.py: missing {exe} (build first)')
    for tool in ('primesieve', 'gnuplot'):
        if not shutil.which(tool):
            sys.exit(f'report.py: {tool} is not installed')
    tmp = tempfile.mkdtemp(prefix='flow-bench-report.')
    started = time.time()
    ncpu = os.cpu_count()

    def sh(*cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=root).stdout.strip()
        except OSError:
            return '?'

    model = '?'
    for line in sh('lscpu').splitlines():
        if line.startswith('Model name:'):
            model = line.split(':', 1)[1].strip()
    commit = sh('git', 'rev-parse', '--short', 'HEAD')
    dirty = sh('git', 'status', '--porcelain', '--untracked-files=no')
    machine = {
        'cpu': model, 'cpus': ncpu, 'kernel': platform.release(),
        'mem_gb': round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30, 1),
        'python': platform.python_version(),
        'primesieve': sh('primesieve', '--version').splitlines()[0],
        'libzmq': sh('pkg-config', '--modversion', 'libzmq'),
        'cc': sh('cc', '--version').splitlines()[0],
        'commit': commit + (' (with uncommitted changes)' if dirty else ''),
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'load_before': loadavg(),
    }
    log(f'machine: {machine}')
    loads = {}
    checks = []

    # ------------------------------------------------ correctness (untimed)
    log('checks ...')

    def check(name, ok, detail=''):
        checks.append((name, ok, detail))
        log(f'  {"ok  " if ok else "FAIL"} {name} {detail}')

    r = subprocess.run([py, os.path.join(pydir, 'sieve.py'), '--selftest'],
                       capture_output=True, text=True)
    check('Python sieve (fixed) = plain sieve, limits 0..100000, 1-7 segments',
          r.returncode == 0 and 'selftest: ok' in r.stdout)
    art = subprocess.run([py, os.path.join(pydir, 'sieve.py'), '--article', '--unfixed'],
                         capture_output=True, text=True).stdout.strip()
    want = '[2, 3, 5, 7, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 35, 37, 39, 41, 43, 45, 47, 49]'
    check("verbatim article sieve reproduces the article's printed output (composites)",
          art == want, art)
    fixed = subprocess.run([py, os.path.join(pydir, 'sieve.py'), '--article'],
                           capture_output=True, text=True).stdout.strip()
    check('fixed sieve on the article example (10, 30), (30, 50)',
          fixed == '[2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47]', fixed)
    for n in (0, 1, 2, 3, 10, 11, 49, 97, 1000, 65537, 1000000):
        outs = [subprocess.run(c, capture_output=True).stdout for c in (
            [flowrun, os.path.join(root, 'graphs/sieve.ini'), '--quiet', '--set', f'limit={n}',
             '--set', 'segments=2'],
            [sieve_ref, str(n), '--list'],
            [py, os.path.join(pydir, 'sieve.py'), str(n), '--segments', '2'])]
        check(f'prime list <= {n}: flow = C ref = Python', outs[0] == outs[1] == outs[2],
              f'({len(outs[1].split())} primes)')
    a = subprocess.run([flowrun, os.path.join(root, 'graphs/palindromes.ini'), '--quiet',
                        '--set', 'words=100000', '--set', 'chunk=5000'], capture_output=True).stdout
    b = subprocess.run([pal_ref, '100000'], capture_output=True).stdout
    check('palindromes of 10^5 words: flow output = C ref output, byte for byte', a == b,
          f'({len(b.split())} palindromes)')
    a = subprocess.run([flowrun, os.path.join(root, 'graphs/palindromes_parallel.ini'), '--quiet',
                        '--set', 'words=100000', '--set', 'chunk=5000', '--set', 'makers=3'],
                       capture_output=True).stdout
    check('palindromes of 10^5 words, parallel graph (3 makers): flow output = C ref output, '
          'byte for byte', a == b, f'({len(b.split())} palindromes)')
    a = subprocess.run([flowrun, os.path.join(root, 'graphs/palindromes_search.ini'), '--quiet',
                        '--set', 'words=100000', '--set', 'chunk=5000', '--set', 'workers=3'],
                       capture_output=True).stdout
    check('palindromes of 10^5 words, search graph (3 workers): flow output = C ref output, '
          'byte for byte', a == b, f'({len(b.split())} palindromes)')

    # ------------------------------------------------ palindromes
    pal = []
    pal_out = {}  # size -> md5 of the C reference output

    def md5(b):
        return hashlib.md5(b).hexdigest()

    def check_same_as_c(size, out):
        if size not in pal_out:
            pal_out[size] = md5(out)
            return f'{len(out.split())} palindromes'
        return 'ok' if md5(out) == pal_out[size] else 'OUTPUT DIFFERS FROM C REF'

    def check_py(size, out):
        lists = ast.literal_eval(out.decode())
        words = [w for lst in lists for w in lst]
        bad = [w for w in words if w != w[::-1]]
        return f'{len(words)} palindromes' + (' NOT ALL PALINDROMES' if bad else '')

    def chunk(n):
        return max(1, min(n // 2, 100000))

    palg = os.path.join(root, 'graphs/palindromes.ini')
    if 'palindromes' not in SKIP:
        log('palindromes ...')
        loads['palindromes'] = [loadavg()]
        c_series = Series('C, 1 process', lambda n: [pal_ref, str(n)], MAX_S, check=check_same_as_c)
        f1 = Series('flow, 1 worker', lambda n: [flowrun, palg, '--quiet', '--set', f'words={n}',
                    '--set', 'workers=1', '--set', f'chunk={chunk(n)}'], MAX_S, flow=True,
                    check=check_same_as_c)
        f2 = Series('flow, 2 workers', lambda n: [flowrun, palg, '--quiet', '--set', f'words={n}',
                    '--set', 'workers=2', '--set', f'chunk={chunk(n)}'], MAX_S, flow=True,
                    check=check_same_as_c)
        palp = os.path.join(root, 'graphs/palindromes_parallel.ini')
        f2g = Series('flow parallel, 2 makers + 2 workers', lambda n: [
            flowrun, palp, '--quiet', '--set', f'words={n}', '--set', 'makers=2', '--set',
            'workers=2', '--set', f'chunk={chunk(n)}'], MAX_S, flow=True,
            check=check_same_as_c)
        pals = os.path.join(root, 'graphs/palindromes_search.ini')
        fs = Series('flow search, 2 workers', lambda n: [
            flowrun, pals, '--quiet', '--set', f'words={n}', '--set', 'workers=2'],
            MAX_S, flow=True, check=check_same_as_c)
        pys = Series('Python Pool.map', lambda n: [py, os.path.join(pydir, 'palindromes.py'),
                     str(n)], PY_MAX, check=check_py)
        pal = [c_series, f1, f2, f2g, fs, pys]
        measure('palindromes', pal, PAL_SIZES, tmp)
        loads['palindromes'].append(loadavg())

    # ------------------------------------------------ sieve
    sieve = []
    counts = {}

    def check_count(size, out):
        c = out.decode().strip()
        if size not in counts:
            counts[size] = c
            return f'count {c}'
        return 'ok' if c == counts[size] else f'COUNT {c} != {counts[size]}'

    sieveg = os.path.join(root, 'graphs/sieve.ini')

    def flow_sieve(seg):
        return lambda n: [flowrun, sieveg, '--quiet', '--set', f'limit={n}', '--set',
                          'output=count', '--set', f'segments={seg}']

    if 'sieve' not in SKIP:
        log('sieve ...')
        loads['sieve'] = [loadavg()]
        ps1 = Series('primesieve -t1', lambda n: ['primesieve', '-q', '-c', '-t', '1', str(n)],
                     MAX_S, check=check_count)
        ps2 = Series('primesieve -t2', lambda n: ['primesieve', '-q', '-c', '-t', '2', str(n)],
                     MAX_S, check=check_count)
        cs = Series('C segmented, 1 process', lambda n: [sieve_ref, str(n)], MAX_S,
                    check=check_count)
        fs2 = Series('flow, 2 segments', flow_sieve(2), MAX_S, flow=True, check=check_count)
        fs1 = Series('flow, 1 segment', flow_sieve(1), MAX_S, flow=True, check=check_count,
                     sizes=SCALE_LIMITS)
        fs4 = Series('flow, 4 segments', flow_sieve(4), MAX_S, flow=True, check=check_count,
                     sizes=SCALE_LIMITS)
        pyss = Series('Python Pipe sieve, 2 segments', lambda n: [
            py, os.path.join(pydir, 'sieve.py'), str(n), '--count', '--segments', '2'],
            PY_MAX, check=check_count)
        sieve = [ps2, ps1, cs, fs2, fs1, fs4, pyss]
        measure('sieve', sieve, SIEVE_LIMITS, tmp, growth=1.1)
        loads['sieve'].append(loadavg())

    # ------------------------------------------------ start-up
    startup = []
    if 'startup' not in SKIP:
        log('start-up ...')
        loads['startup'] = [loadavg()]
        # As a user runs it: no --stats-json (flow=False).
        sf = Series('flow: startup.ini (range -> collect)', lambda n: [
            flowrun, os.path.join(root, 'tools/bench/startup.ini'), '--quiet'], MAX_S,
            check=lambda n, o: 'ok' if o == b'0\n1\n' else f'output {o!r}')
        sp = Series('Python: Pool(2).map', lambda n: [py, os.path.join(pydir, 'startup.py')],
                    MAX_S, check=lambda n, o: 'ok' if o == b'[0, 1]\n' else f'output {o!r}')
        # GNU time's own cost: /bin/true under it and bare.
        tt = Series('/bin/true under GNU time', lambda n: ['/bin/true'], MAX_S)
        tb = Series('/bin/true bare', lambda n: ['/bin/true'], MAX_S, gnu_time=False)
        startup = [sf, sp, tt, tb]
        measure('startup', startup, [2], tmp, nreps=STARTUP_REPS)
        loads['startup'].append(loadavg())

    # ------------------------------------------------ transport
    push = None
    if 'transport' not in SKIP:
        log('transport (push.sh) ...')
        loads['transport'] = [loadavg()]
        env = dict(os.environ, RUNS=os.environ.get('PUSH_RUNS', '9'),
                   SECS=os.environ.get('PUSH_SECS', '1.5'),
                   BATCHES=os.environ.get('PUSH_BATCHES', '1 16 256 1024 8192'),
                   FLOWRUN=flowrun)
        r = subprocess.run([os.path.join(root, 'tools/bench/push.sh'), build],
                           capture_output=True, text=True, env=env)
        push = {'stdout': r.stdout, 'stderr': r.stderr[-2000:], 'rc': r.returncode,
                'rows': [], 'env': {k: env[k] for k in ('RUNS', 'SECS', 'BATCHES')}}
        for line in r.stdout.splitlines():
            f = line.split()
            if len(f) == 19 and f[0].isdigit():
                push['rows'].append({'batch': int(f[0]), 'bytes': int(f[1]),
                                     'hwm': int(f[2]),
                                     'items': int(f[3]), 'flow_wall_s': float(f[4]),
                                     'flow_items_s_net': si(f[6]), 'flow_msgs_s_net': si(f[7]),
                                     'raw_send': si(f[8]), 'raw_zc': si(f[9]),
                                     'raw_best': si(f[10]), 'ratio': float(f[11]),
                                     'ratio_best': float(f[12]), 'aa_median': float(f[13]),
                                     'aa_best': float(f[14]),
                                     'loop_items_s': si(f[15]),
                                     'ratio_1cpu': None if f[16] == '-' else float(f[16]),
                                     'ratio_pinned': None if f[17] == '-' else float(f[17]),
                                     'aa_pinned': None if f[18] == '-' else float(f[18])})
        m = re.search(r'start-up \(items=0\): (\d+) ms', r.stdout)
        push['startup_ms'] = int(m.group(1)) if m else None
        loads['transport'].append(loadavg())
        log(r.stdout)

    # ------------------------------------------------ balance
    balance = None
    if 'balance' not in SKIP:
        log('balance (balance.sh) ...')
        loads['balance'] = [loadavg()]
        env = dict(os.environ, RUNS=os.environ.get('BALANCE_RUNS', '5'),
                   FLOWRUN=flowrun)
        r = subprocess.run([os.path.join(root, 'tools/bench/balance.sh'), build],
                           capture_output=True, text=True, env=env)
        balance = {'stdout': r.stdout, 'stderr': r.stderr[-2000:], 'rc': r.returncode,
                   'runs': env['RUNS']}
        loads['balance'].append(loadavg())
        log(r.stdout)

    machine['load_after'] = loadavg()
    machine['elapsed_s'] = round(time.time() - started)

    # ------------------------------------------------ results.json
    def dump(series):
        return [{'label': s.label, 'results': {str(k): v for k, v in s.results.items()},
                 'skipped': {str(k): v for k, v in s.skipped.items()}} for s in series]

    with open(os.path.join(out_dir, 'results.json'), 'w') as f:
        json.dump({'machine': machine, 'command': args.command, 'loads': loads,
                   'checks': checks, 'palindromes': dump(pal), 'sieve': dump(sieve),
                   'startup': dump(startup), 'transport': push, 'balance': balance,
                   'knobs': {'REPS': REPS, 'REPS_SLOW': REPS_SLOW, 'REPS_FAST': REPS_FAST,
                             'PY_MAX': PY_MAX,
                             'MAX_S': MAX_S, 'STARTUP_REPS': STARTUP_REPS}},
                  f, indent=1)

    # ------------------------------------------------ report.md
    md = []
    w = md.append
    w('# flow side by side: benchmark report\n')
    w('Generated by `tools/bench/report.sh` (issue 8); do not edit by hand: every number '
      'below was measured by the run described here, and every ratio is computed from '
      'medians of that same run. Raw measurements: [results.json](results.json).\n')
    w(table(['', ''], [
        ['command', f'`{args.command}`'],
        ['date', machine['date']],
        ['CPU', f'{machine["cpu"]}, {ncpu} CPUs online, {machine["mem_gb"]} GiB RAM'],
        ['kernel', machine['kernel']],
        ['load average before / after (1, 5, 15 min)',
         f'{machine["load_before"]} / {machine["load_after"]}'],
        ['flow', f'commit {machine["commit"]}, build `{build}`'],
        ['references', f'Python {machine["python"]}; {machine["primesieve"]}; '
                       f'libzmq {machine["libzmq"]}; {machine["cc"]}'],
        ['repetitions', f'{REPS} per command and size ({REPS_FAST} when a run takes under '
                        f'0.25 s, {REPS_SLOW} over 2 s, {STARTUP_REPS} for start-up), '
                        f'interleaved round robin within a size'],
        ['caps', f'a size is skipped when projected from the previous size to exceed '
                 f'{PY_MAX:.0f} s (Python) or {MAX_S:.0f} s (others)'],
        ['total time', f'{machine["elapsed_s"]} s'],
    ]))
    w('')
    w('The load average is that of the whole machine; other work running at the same time '
      'slows every command, flow and references alike, and widens the spread. Cells read '
      '`median (min–max, n=runs)`; a time is the wall time of the whole command, '
      'process start to exit (under GNU time, whose own cost is in every figure alike; the '
      'start-up section measures it).\n')
    w('**Peak RSS.** For every command, "peak RSS" is GNU time\'s `%M` (`ru_maxrss`): '
      'the largest peak of any single process of the run (the command and every descendant '
      'it reaped). For flow that is the largest process of '
      'the graph, launcher included; the flow columns add the sum of the peaks of all '
      'node instances, from `flowrun --stats-json` (`max_rss_kb`), an upper bound on the '
      'memory the graph held at once. The Python programs fork their workers too; their '
      'figure is likewise the largest single process.\n')

    # checks
    w('## Correctness checks (before timing)\n')
    w(table(['check', 'result'], [[c[0] + (f' {c[2]}' if c[2] else ''), 'ok' if c[1] else
                                   '**FAILED**'] for c in checks]))
    w('')
    w('During timing, every run is checked too: the palindromes of flow and of the C '
      'reference are the same bytes (same word generator), the Python palindromes are all '
      'palindromes (its words come from `random`, so its list differs), and every sieve '
      'count equals primesieve\'s.\n')

    def check_col(series):
        bad = []
        for s in series:
            for size, d in s.results.items():
                for c in d['checks']:
                    if c != 'ok' and not re.fullmatch(r'(count \d+|\d+ palindromes)', c):
                        bad.append(f'{s.label} at {fmt_size(size)}: {c}')
        return bad

    def skipped_notes(series):
        notes = []
        for s in series:
            for size, why in sorted(s.skipped.items()):
                notes.append(f'- {s.label} at {fmt_size(size)}: {why}')
        return notes

    summary_rows = []

    if pal:
        c_series, f1, f2, f2g, fs, pys = pal

        def best2(n):
            """The fastest of the 2-worker graphs at n: (median, label)."""
            c = [(med(s_, n), lab) for s_, lab in ((f2, 'article shape'), (f2g, 'parallel'),
                                                   (fs, 'search'))
                 if med(s_, n)]
            return min(c) if c else (None, None)

        w('## Palindromes: flow vs the article\'s Pool.map vs a single-process C loop\n')
        w(f'flow: `flowrun graphs/palindromes.ini --set words=N --set workers=1|2 --set '
          f'chunk=min(N/2, 100000)`, the article\'s shape: one word maker, a splitter, the '
          f'workers, a collector (the maker already makes chunks of `chunk` words, which the '
          f'splitter passes on). "flow parallel": `flowrun graphs/palindromes_parallel.ini '
          f'--set words=N --set makers=2 --set workers=2 --set chunk=min(N/2, 100000)`: two '
          f'word makers, each making its own chunks, send them straight to the two workers; no '
          f'single process handles every word. "flow search": `flowrun '
          f'graphs/palindromes_search.ini --set words=N --set workers=2` (node `palsearch`, '
          f'about 8 chunks per worker, 4096 to 2^20 words each): each worker makes its own chunks and tests them where '
          f'they are made; only the palindromes travel to the collector. The '
          f'article\'s own chunking (chunk = N/2, two lists) would hold half the words in one '
          f'message; chunks of 10^5 words keep the graph\'s memory flat. C: '
          f'`palindromes_ref N` (tools/bench/ref/palindromes_ref.c): one loop, the words '
          f'node\'s generator (SplitMix64, 12 letters per 64-bit draw), the same test, '
          f'byte-identical output. Python: '
          f'`tools/bench/python/palindromes.py N` — the article\'s program (words made in '
          f'the parent with `random.randint`, split in 2 lists, `Pool().map(find_palindromes, '
          f'lists)`, `print(results)`).\n')
        w(f'Load average during this workload: {" → ".join(loads["palindromes"])}.\n')
        rows = []
        for n in PAL_SIZES:
            pm, f2m, f1m, cm, gm = med(pys, n), med(f2, n), med(f1, n), med(c_series, n), med(f2g, n)
            sm = med(fs, n)
            rows.append([fmt_size(n)] + [cell_or_skip(s, n) for s in pal] + [
                fmt_ratio(pm / f2m) if pm and f2m else '–',
                fmt_ratio(pm / gm) if pm and gm else '–',
                fmt_ratio(pm / sm) if pm and sm else '–',
                fmt_ratio(cm / f1m) if cm and f1m else '–',
                fmt_ratio(cm / f2m) if cm and f2m else '–',
                fmt_ratio(cm / gm) if cm and gm else '–',
                fmt_ratio(cm / sm) if cm and sm else '–'])
        w(table(['words'] + [s.label for s in pal] +
                ['Python / flow 2w', 'Python / flow parallel', 'Python / flow search',
                 'speed vs C: flow 1w', 'flow 2w', 'flow parallel', 'flow search'], rows))
        w('\n"speed vs C" is the C loop\'s time over flow\'s: above 1 flow is faster.\n')
        w('Peak RSS, MB (median):\n')
        w(rss_table(pal, PAL_SIZES, 'words'))
        w('')
        notes = skipped_notes(pal) + [f'- {b}' for b in check_col(pal)]
        if notes:
            w('Not measured / problems:\n')
            w('\n'.join(notes) + '\n')
        for s_ in (f2, f2g, fs):
            top = max((n for n in PAL_SIZES if n in s_.results), default=None)
            if top is None:
                continue
            d = s_.results[top]
            w(f'Where the time goes, {s_.label}, {fmt_size(top)} words (the run nearest the '
              f'median, {fmt_s(d["wall"]["median"])}; `--stats-json`, summed over each node\'s '
              f'instances; the C loop does all of it in {fmt_s(med(c_series, top))}):\n')
            w(table(['node', 'type', 'instances', 'CPU s', 'busy s', 'blocked on send s',
                     'waiting for input s'],
                    [[name, v['type'], v['instances'], f'{v["cpu_s"]:.3f}', f'{v["busy_s"]:.3f}',
                      f'{v["send_blocked_s"]:.3f}', f'{v["recv_wait_s"]:.3f}']
                     for name, v in d['nodes'].items()]))
            w('')
            bname, bv = max(d['nodes'].items(), key=lambda kv: kv[1]['busy_s'])
            fv = d['nodes'].get('find')
            w(f'Busiest stage in that run: `{bname}` ({bv["type"]}), busy {bv["busy_s"]:.3f} s' +
              (f'; the palindrome workers together were busy {fv["busy_s"]:.3f} s and waited for '
               f'input {fv["recv_wait_s"]:.3f} s.' if fv else '.') + '\n')
        # Where moving the words eats the gain, from this run's numbers.
        top = max((n for n in PAL_SIZES if med(c_series, n) and med(f2g, n)), default=None)
        if top is not None and f2g.results[top].get('nodes'):
            cpu = sum(v['cpu_s'] for v in f2g.results[top]['nodes'].values())
            cm = med(c_series, top)
            w(f'Every word is made in one process and tested in another, so it travels as '
              f'message data. At {fmt_size(top)} words the parallel graph\'s processes used '
              f'{cpu:.3f} CPU-seconds in all, {fmt_ratio(cpu / cm)} the C loop\'s whole run '
              f'({fmt_s(cm)}, making and testing every word in one process)' +
              (': making and testing a word costs less than moving it to another process, so '
               'even with both CPUs busy all the time the graph could not catch up with one '
               'process. This is the article\'s warning, measured: here the data movement eats '
               'the whole gain of the second CPU.' if cpu > 2 * cm else
               '.') + '\n')
        top = max((n for n in PAL_SIZES if med(c_series, n) and med(fs, n)), default=None)
        if top is not None and fs.results[top].get('nodes'):
            cpu = sum(v['cpu_s'] for v in fs.results[top]['nodes'].values())
            cm = med(c_series, top)
            w(f'In the search graph the words never leave the process that makes them: at '
              f'{fmt_size(top)} words its processes used {cpu:.3f} CPU-seconds in all, '
              f'{fmt_ratio(cpu / cm)} the C loop\'s {fmt_s(cm)}, and it ran '
              f'{fmt_ratio(cm / med(fs, top))} as fast as the C loop with 2 workers. Where only '
              f'results cross between processes, the second CPU pays.\n')
        faster = [fmt_size(n) for n in PAL_SIZES
                  if med(c_series, n) and any(med(s_, n) and med(s_, n) < med(c_series, n)
                                              for s_ in (f1, f2, f2g, fs))]
        py_sizes = [n for n in PAL_SIZES if med(pys, n) and best2(n)[0]]
        py_slower = [fmt_size(n) for n in py_sizes if best2(n)[0] >= med(pys, n)]
        w('Sizes where a flow graph beat the single-process C loop in this run: ' +
          (', '.join(faster) if faster else 'none') + '.' +
          (' Against the article\'s Python, where every word is made by the interpreter and '
           'pickled to a worker, the faster 2-worker flow graph was ' +
           ('faster at every size measured' if not py_slower else
            f'slower at {", ".join(py_slower)}') +
           f' ({", ".join(f"{fmt_size(n)}: {fmt_ratio(med(pys, n) / best2(n)[0])}" for n in py_sizes)}).'
           if py_sizes else '') + '\n')
        img = lines_plot(out_dir, 'palindromes', 'Palindromes: wall time vs words', 'words', pal)
        w(f'![palindromes]({img})\n')
        # targets
        big = [n for n in PAL_SIZES if med(pys, n) and med(pys, n) > 1 and best2(n)[0]]
        if big:
            worst = min(med(pys, n) / best2(n)[0] for n in big)
            summary_rows.append(['Palindromes: flow >= 100x faster than Python where Python takes > 1 s',
                                 ', '.join(f'{fmt_size(n)}: {fmt_ratio(med(pys, n) / best2(n)[0])} '
                                           f'({best2(n)[1]}, 2 workers)' for n in big),
                                 met(worst >= 100)])
        else:
            summary_rows.append(['Palindromes: flow >= 100x faster than Python where Python takes > 1 s',
                                 'no Python run over 1 s', '–'])
        sizes2 = [n for n in PAL_SIZES if med(c_series, n) and best2(n)[0]]
        if sizes2:
            top = max(sizes2)
            r2 = med(c_series, top) / best2(top)[0]
            summary_rows.append([f'Palindromes: 2 workers >= 1.6x the single-process C loop '
                                 f'(largest size, {fmt_size(top)})',
                                 f'{fmt_ratio(r2)} ({best2(top)[1]}; article shape: '
                                 f'{fmt_ratio(med(c_series, top) / med(f2, top)) if med(f2, top) else "–"}, '
                                 f'parallel: '
                                 f'{fmt_ratio(med(c_series, top) / med(f2g, top)) if med(f2g, top) else "–"}, '
                                 f'search: '
                                 f'{fmt_ratio(med(c_series, top) / med(fs, top)) if med(fs, top) else "–"}; '
                                 f'best over sizes: '
                                 f'{fmt_ratio(max(med(c_series, n) / best2(n)[0] for n in sizes2))})',
                                 met(r2 >= 1.6)])

    if sieve:
        ps2, ps1, cs, fs2, fs1, fs4, pyss = sieve
        w('## Sieve: flow vs the article\'s Pipe sieve (fixed) vs primesieve vs plain C\n')
        w('flow: `flowrun graphs/sieve.ini --set limit=N --set output=count --set segments=S`. '
          'primesieve: `primesieve -q -c -t 1|2 N`. C: `sieve_ref N` '
          '(tools/bench/ref/sieve_ref.c: odd-only byte-per-number segmented sieve, 256 KiB '
          'blocks, one process). Python: `tools/bench/python/sieve.py N --count --segments 2` '
          '(the article\'s collect_primes/sieve/send_primes, one Process and Pipe per segment, '
          'with the article\'s bug fixed; see the script).\n')
        w(f'Load average during this workload: {" → ".join(loads["sieve"])}.\n')
        main_s = [fs2, ps2, ps1, cs, pyss]
        rows = []
        for n in SIEVE_LIMITS:
            f, p2, p1, c, p = med(fs2, n), med(ps2, n), med(ps1, n), med(cs, n), med(pyss, n)
            rows.append([fmt_size(n), counts.get(n, '–')] + [cell_or_skip(s, n) for s in main_s] + [
                fmt_ratio(f / p2) if f and p2 else '–', fmt_ratio(f / p1) if f and p1 else '–',
                fmt_ratio(c / f) if f and c else '–', fmt_ratio(p / f) if f and p else '–'])
        w(table(['limit', 'primes'] + [s.label for s in main_s] +
                ['flow / ps -t2', 'flow / ps -t1', 'speed vs C', 'Python / flow'], rows))
        w('\n"flow / ps" is flow\'s time over primesieve\'s (lower is better, target <= 3 at '
          '10^10); "speed vs C" is the C sieve\'s time over flow\'s.\n')
        w('Peak RSS, MB (median):\n')
        w(rss_table(main_s, SIEVE_LIMITS, 'limit'))
        w('')
        notes = skipped_notes(main_s) + [f'- {b}' for b in check_col(sieve)]
        if notes:
            w('Not measured / problems:\n')
            w('\n'.join(notes) + '\n')
        img = lines_plot(out_dir, 'sieve', 'Prime sieve: wall time vs limit', 'limit', main_s)
        w(f'![sieve]({img})\n')

        w('### Sieve scaling: 1, 2, 4 segments\n')
        rows = []
        sc = [fs1, fs2, fs4]
        for n in SCALE_LIMITS:
            base = med(fs1, n)
            for seg, s in zip((1, 2, 4), sc):
                d = s.results.get(n)
                rows.append([fmt_size(n), seg, cell_or_skip(s, n),
                             fmt_ratio(base / med(s, n)) if base and med(s, n) else '–',
                             fmt_mb(d['flow_max_kb']['median']) if d else '–',
                             fmt_mb(d['rss_kb']['median']) if d else '–'])
        w(table(['limit', 'segments', 'time', 'speedup vs 1 segment',
                 'largest node process, MB', 'largest process incl. launcher, MB'], rows))
        w(f'\n{ncpu} CPUs: 4 segments share them, so beyond {ncpu} segments no speedup is '
          f'expected.\n')
        datasets, plots = {}, []
        for k, n in enumerate(SCALE_LIMITS):
            rows = [(seg, s.results[n]['wall']['median'], s.results[n]['wall']['min'],
                     s.results[n]['wall']['max']) for seg, s in zip((1, 2, 4), sc)
                    if n in s.results]
            if rows:
                datasets[f'l{k}'] = rows
                plots.append(f"'l{k}.dat' using 1:2:3:4 with yerrorlines lw 2 pt 7 "
                             f"title 'flow, limit {fmt_size(n)}'")
        for k, n in enumerate(SCALE_LIMITS):
            for lab, s in (('primesieve -t2', ps2),):
                if n in s.results:
                    datasets[f'p{k}'] = [(x, s.results[n]['wall']['median']) for x in (1, 4)]
                    plots.append(f"'p{k}.dat' using 1:2 with lines dt 2 lw 1 "
                                 f"title '{lab}, limit {fmt_size(n)}'")
        if plots:
            img = gnuplot(out_dir, 'sieve-scaling',
                          "set title 'Sieve: flow segments (processes) vs wall time'\n"
                          "set logscale y\nset xrange [0.8:4.2]\nset xtics (1, 2, 4)\n"
                          "set xlabel 'segments'\nset ylabel 'wall time, s (median, bars min-max)'\n"
                          "set key top right\nplot " + ', \\\n  '.join(plots) + '\n', datasets)
            w(f'![sieve scaling]({img})\n')
        top = max(SIEVE_LIMITS)
        if med(fs2, top) and med(ps2, top):
            r = med(fs2, top) / med(ps2, top)
            summary_rows.append([f'Sieve: flow <= 3x primesieve at {fmt_size(top)}',
                                 f'{fmt_ratio(r)} of primesieve -t2 ({fmt_ratio(med(fs2, top) / med(ps1, top)) if med(ps1, top) else "–"} of -t1)',
                                 met(r <= 3)])
        else:
            summary_rows.append([f'Sieve: flow <= 3x primesieve at {fmt_size(top)}', 'not measured', '–'])
        big = [n for n in SIEVE_LIMITS if med(pyss, n) and med(pyss, n) > 1 and med(fs2, n)]
        if big:
            worst = min(med(pyss, n) / med(fs2, n) for n in big)
            summary_rows.append(['Sieve: flow >= 100x faster than Python where Python takes > 1 s',
                                 ', '.join(f'{fmt_size(n)}: {fmt_ratio(med(pyss, n) / med(fs2, n))}'
                                           for n in big), met(worst >= 100)])
        for n in SCALE_LIMITS:
            if med(fs1, n) and med(fs2, n):
                r = med(fs1, n) / med(fs2, n)
                summary_rows.append([f'Sieve scaling (issue 3): 1 -> 2 segments >= 1.8x at {fmt_size(n)}',
                                     fmt_ratio(r), met(r >= 1.8)])
        if top in fs2.results:
            mx = fs2.results[top]['flow_max_kb']['median']
            summary_rows.append([f'Sieve memory (issue 3): every process <= 16 MB at {fmt_size(top)}',
                                 f'largest node process {fmt_mb(mx)} MB, launcher included '
                                 f'{fmt_mb(fs2.results[top]["rss_kb"]["median"])} MB',
                                 met(max(mx, fs2.results[top]['rss_kb']['median']) <= 16 * 1024)])

    if startup:
        sf, sp, tt, tb = startup
        w('## Start-up: a trivial two-stage graph vs multiprocessing.Pool(2).map\n')
        w('flow: `flowrun tools/bench/startup.ini` (range of 2 numbers -> collect: load, '
          'validate, fork 2 processes, wire, both barriers, exit). Python: '
          '`tools/bench/python/startup.py` (`Pool(2).map` of the identity over range(2), '
          'interpreter start included).\n')
        w(f'Load average during this workload: {" → ".join(loads["startup"])}.\n')
        gt = (med(tt, 2) - med(tb, 2)) if med(tt, 2) and med(tb, 2) else 0
        fm = med(sf, 2) - gt if med(sf, 2) else None
        pm = med(sp, 2) - gt if med(sp, 2) else None
        rows = [[s.label, cell_or_skip(s, 2),
                 (fmt_mb(s.results[2]['rss_kb']['median']) if s.gnu_time else '–')
                 if 2 in s.results else '–'] for s in startup]
        w(table(['command', 'wall time', 'peak RSS, MB'], rows))
        w('')
        w(f'GNU time\'s own cost in this run, the `/bin/true` rows\' difference: {fmt_s(gt)}. '
          f'Without it, flow\'s whole run took {fmt_s(fm) if fm else "–"} and Python\'s '
          f'{fmt_s(pm) if pm else "–"}; the target below is judged on these.\n')
        if fm and pm:
            w(f'flow / Python: {fmt_ratio(fm / pm)}.\n')
            datasets = {'b': [(k, f'"{s.label}"', s.results[2]['wall']['median'] * 1000,
                               s.results[2]['wall']['min'] * 1000, s.results[2]['wall']['max'] * 1000)
                              for k, s in enumerate((sf, sp))]}
            img = gnuplot(out_dir, 'startup',
                          "set title 'Start-up: whole run of a trivial two-process job'\n"
                          "set style fill solid 0.5\nset boxwidth 0.5\nset yrange [0:*]\n"
                          "set ylabel 'wall time, ms (median, bars min-max)'\nset xrange [-0.6:1.6]\n"
                          "unset key\nplot 'b.dat' using 1:3:xtic(2) with boxes, "
                          "'' using 1:3:4:5 with yerrorbars lw 2 pt 7\n", datasets)
            w(f'![start-up]({img})\n')
            summary_rows.append(['Start-up: flow\'s whole run <= 20 ms and <= 0.5x Python\'s',
                                 f'{fmt_s(fm)}, {fmt_ratio(fm / pm)} of Python\'s {fmt_s(pm)}',
                                 met(fm <= 0.020 and fm <= 0.5 * pm)])

    if push:
        w('## Transport: flow push link vs raw libzmq PUSH/PULL\n')
        w(f'`tools/bench/push.sh` (issue 2\'s benchmark, called as is with '
          f'RUNS={push["env"]["RUNS"]} SECS={push["env"]["SECS"]} '
          f'BATCHES="{push["env"]["BATCHES"]}"): range -> collect(mode=count) pushes int64 items '
          f'in messages of B items (24-byte header + 8·B bytes) against raw libzmq PUSH/PULL '
          f'between two processes with messages of the same size (the faster of zmq_send and '
          f'zero-copy), interleaved, median of RUNS. flow\'s rate is net of its start-up '
          f'({push["startup_ms"]} ms, the run with 0 items). '
          f'The link has flow\'s default hwm for its batch size (about 1 MiB of frames, 64 to '
          f'1000 messages) and the raw sockets get the same. "best" compares the fastest '
          f'run of each side (best of RUNS). "A/A" is a control: a second raw send series, '
          f'interleaved with the first, against it; a perfect measurement gives 1.00, and '
          f'how far it strays shows how far a ratio can stray for reasons that are not '
          f'flow\'s. Left to the scheduler, the four threads (each process\'s own and its '
          f'libzmq I/O thread) land on the two CPUs differently from run to run, and small '
          f'messages swing with that placement, flow and raw alike: both unpinned '
          f'statistics move (the best of runs is as exposed to one lucky run as the median '
          f'to a bimodal spread). "pinned" takes the placement out of it: the sender runs '
          f'on one CPU and the receiver on the other, each with its I/O thread (flow: the '
          f'node key `pin`; raw: the same CPUs through sched_setaffinity), medians of RUNS '
          f'interleaved runs with an A/A control of their own. "1 CPU" repeats the small '
          f'batches with every process on one CPU (taskset), so the ratio compares what a '
          f'message costs in CPU time.\n')
        w(f'Load average during this workload: {" → ".join(loads["transport"])}.\n')
        if push['rows']:
            rows = [[x['batch'], x['bytes'], x['hwm'], f'{x["flow_msgs_s_net"]:,.0f}',
                     f'{x["raw_best"]:,.0f}', f'{x["ratio"]:.2f}x', f'{x["ratio_best"]:.2f}x',
                     f'{x["aa_median"]:.2f}x / {x["aa_best"]:.2f}x',
                     '–' if x['ratio_pinned'] is None else
                     f'{x["ratio_pinned"]:.2f}x (A/A {x["aa_pinned"]:.2f}x)',
                     '–' if x['ratio_1cpu'] is None else f'{x["ratio_1cpu"]:.2f}x',
                     f'{x["flow_items_s_net"] / 1e6:,.1f}M',
                     f'{x["loop_items_s"] / 1e6:,.0f}M'] for x in push['rows']]
            w(table(['batch (items)', 'message bytes', 'hwm', 'flow msgs/s (net, median)',
                     'raw libzmq msgs/s (median)', 'flow / raw, medians',
                     'flow / raw, best of runs', 'A/A raw / raw, medians / best',
                     'flow / raw, pinned (A/A)', 'flow / raw, 1 CPU', 'flow int64 items/s', 'one-process loop items/s'],
                    rows))
            w('')
            ds = {'t': [(x['bytes'], x['flow_msgs_s_net'], x['raw_best'], x['ratio'],
                         x['ratio_best'], x['aa_median'],
                         float('nan') if x['ratio_pinned'] is None else x['ratio_pinned'])
                        for x in push['rows']]}
            img = gnuplot(out_dir, 'transport',
                          "set title 'Push link: messages/s vs message size'\n"
                          "set logscale x 2\nset logscale y\nset xlabel 'message bytes'\n"
                          "set ylabel 'messages/s (median)'\nset y2label 'flow / raw'\n"
                          "set y2range [0:2]\nset y2tics\nset ytics nomirror\nset key top right\n"
                          "plot 't.dat' using 1:2 with linespoints lw 2 pt 7 title 'flow (net of start-up)', "
                          "'' using 1:3 with linespoints lw 2 pt 5 title 'raw libzmq', "
                          "'' using 1:4 axes x1y2 with linespoints dt 2 title 'ratio, medians (right axis)', "
                          "'' using 1:5 axes x1y2 with linespoints dt 4 title 'ratio, best of runs', "
                          "'' using 1:6 axes x1y2 with points pt 1 title 'A/A control, medians', "
                          "'' using 1:7 axes x1y2 with linespoints lw 2 pt 9 title 'ratio, pinned', "
                          "0.9 axes x1y2 with lines dt 3 lc rgb 'red' title 'target 0.9'\n", ds)
            w(f'![transport]({img})\n')
            for key, aa, what, aa_what in (
                    ('ratio', 'aa_median', ' (medians)', 'A/A control, raw against itself'),
                    ('ratio_best', 'aa_best', ' (best of runs)',
                     'A/A control, raw against itself'),
                    ('ratio_pinned', 'aa_pinned',
                     ', pinned (sender and receiver on CPUs of their own)', 'A/A control')):
                xs = [x for x in push['rows'] if x[key] is not None]
                if not xs:
                    continue
                worst = min(x[key] for x in xs)
                summary_rows.append([
                    f'Transport: flow push >= 0.9x raw libzmq at every message size{what}',
                    f'{worst:.2f}x at worst (' +
                    ', '.join(f'{x["bytes"]} B: {x[key]:.2f}x' for x in xs) +
                    f'; {aa_what}: ' + ', '.join(f'{x[aa]:.2f}x' for x in xs) + ')',
                    met(worst >= 0.9)])
            cpu = [x for x in push['rows'] if x['ratio_1cpu'] is not None]
            if cpu:
                worst_c = min(x['ratio_1cpu'] for x in cpu)
                summary_rows.append(['Transport: flow push >= 0.9x raw libzmq, small messages, '
                                     'every process on 1 CPU (CPU cost per message)',
                                     ', '.join(f'{x["bytes"]} B: {x["ratio_1cpu"]:.2f}x'
                                               for x in cpu),
                                     met(worst_c >= 0.9)])
            best = max(x['flow_items_s_net'] for x in push['rows'])
            summary_rows.append(['Transport (issue 2): >= 100 M int64 items/s with batching',
                                 f'{best / 1e6:.0f} M items/s', met(best >= 1e8)])
        w('<details><summary>push.sh output</summary>\n\n```\n' + push['stdout'].rstrip() +
          '\n```\n</details>\n')
        if push['rc'] != 0:
            w(f'push.sh failed (exit {push["rc"]}): `{push["stderr"].strip()[-500:]}`\n')

    if balance:
        w('## Balance: round robin vs demand, and Python\'s Pool\n')
        w(f'`tools/bench/balance.sh` (RUNS={balance["runs"]}): a push link deals messages to '
          f'the instances of its consumer by round robin (`balance=rr`, the default) or by '
          f'demand (`balance=demand`: an instance is sent a message only when it has taken '
          f'the ones before, at most `hwm` waiting). "uneven workers": 1-item messages to two '
          f'workers, one four times slower than the other (they sleep, so the figure is the '
          f'dealing, not the CPU), against Python\'s `Pool(2).imap_unordered(chunksize=1)` '
          f'with the same paces, whose workers take the next task when done; the perfect '
          f'dealing is computed, not measured. "cost of the credits": 152-byte messages over '
          f'a demand link without an hwm (its credit window adapts) and at several fixed '
          f'hwm, against round robin, net of start-up.\n')
        w(f'Load average during this workload: {" → ".join(loads["balance"])}.\n')
        w('```\n' + balance['stdout'].rstrip() + '\n```\n')
        if balance['rc'] != 0:
            w(f'balance.sh failed (exit {balance["rc"]}): '
              f'`{balance["stderr"].strip()[-500:]}`\n')

    if pal or sieve:
        datasets, panels = {}, []
        k = 0
        for wl, series, xl in (('palindromes', pal, 'words'), ('sieve', sieve, 'limit')):
            plots = []
            for s in series:
                if s.flow and s.label not in ('flow, 2 workers', 'flow, 2 segments'):
                    continue
                rows = rss_rows(s)
                if rows:
                    datasets[f'm{k}'] = rows
                    plots.append(f"'m{k}.dat' using 1:2 with linespoints lw 2 lc {len(plots) + 1} "
                                 f"title '{s.label}{' (largest process)' if s.flow else ''}'")
                    k += 1
                if s.flow and rows:
                    datasets[f'm{k}'] = rss_rows(s, 'flow_sum_kb')
                    plots.append(f"'m{k}.dat' using 1:2 with linespoints dt 2 lw 2 lc {len(plots)} "
                                 f"title '{s.label} (sum of processes)'")
                    k += 1
            if plots:
                panels.append(f"set title 'Peak RSS: {wl}'\nset xlabel '{xl}'\n"
                              "plot " + ', \\\n  '.join(plots) + '\n')
        if panels:
            img = gnuplot(out_dir, 'memory',
                          "set terminal pngcairo size 1200,520 noenhanced font 'sans,10'\n"
                          f"set output '{os.path.join(out_dir, 'memory.png')}'\n"
                          "set logscale xy\nset format x '10^%T'\nset key top left\n"
                          "set ylabel 'peak RSS, MB (median)'\nset yrange [1:1000]\n"
                          f"set multiplot layout 1,{len(panels)}\n" + ''.join(panels) +
                          "unset multiplot\n", datasets)
            w('## Memory\n')
            w('Peak RSS of every run is in the tables above, next to its references; the plot '
              'gathers them (flow: its largest process, solid, and the sum over its processes, '
              'dashed).\n')
            w(f'![memory]({img})\n')

    # summary goes near the top
    head_end = md.index('## Correctness checks (before timing)\n')
    summ = ['## Targets\n',
            'Each issue target next to the ratio measured in this run.\n',
            table(['target', 'measured', 'status'], summary_rows), '']
    md[head_end:head_end] = summ
    with open(os.path.join(out_dir, 'report.md'), 'w') as f:
        f.write('\n'.join(md).rstrip() + '\n')
    shutil.rmtree(tmp, ignore_errors=True)
    log(f'wrote {os.path.join(out_dir, "report.md")} in {machine["elapsed_s"]} s')
    return 0


def si(s):
    mult = {'k': 1e3, 'M': 1e6, 'G': 1e9}
    if s[-1] in mult:
        return float(s[:-1]) * mult[s[-1]]
    return float(s)


if __name__ == '__main__':
    sys.exit(main())
