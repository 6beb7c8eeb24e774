/* SPDX-License-Identifier: MIT */
/*
 * testutil.h: helpers for flow's cmocka tests: run flowrun as a child with
 * a timeout and capture its output, temporary files, line splitting.
 * Paths come from the environment ctest sets: FLOWRUN, FLOW_SOURCE_DIR,
 * FLOW_PLUGIN_DIR.
 */
#ifndef FLOW_TESTUTIL_H
#define FLOW_TESTUTIL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "flow/testing.h"

typedef struct tu_result {
    int status; /* exit code; 128+N if killed by signal N; -1 timeout */
    char *out;  /* standard output, NUL-terminated */
    size_t outlen;
    char *err; /* standard error, NUL-terminated */
    size_t errlen;
    double seconds; /* wall time */
} tu_result_t;

/*
 * Write the graph `text` to a temporary file, run flowrun with the
 * NULL-terminated options after `text` and then that file, remove the
 * file. Same result and return as tu_run.
 */
int tu_run_graph(tu_result_t *r, double timeout_s, const char *text, ...);

/* Fail the current cmocka test, printing both, unless `haystack`
 * contains `needle`. */
void tu_assert_contains(const char *haystack, const char *needle);

/* Path of the flowrun under test (static). */
const char *tu_flowrun(void);

/* FLOW_SOURCE_DIR/rel in a static buffer (one at a time). */
const char *tu_src(const char *rel);

/* The built plugin directory. */
const char *tu_plugin_dir(void);

/*
 * Run flowrun with `args` (NULL-terminated, not counting argv[0]), killing
 * it after `timeout_s`. Fills `r`, which the caller releases with
 * tu_result_release. Returns r->status.
 */
int tu_run(tu_result_t *r, double timeout_s, const char *const *args);

/* As tu_run, with the arguments as a NULL-terminated variadic list. */
int tu_runl(tu_result_t *r, double timeout_s, ...);

void tu_result_release(tu_result_t *r);

/*
 * Start flowrun with `args` and return its pid; its standard output is
 * readable on `*out_fd` (caller closes). Standard error is inherited.
 */
pid_t tu_spawn(const char *const *args, int *out_fd);

/* As tu_spawn, with its standard error readable on `*err_fd` and its
 * standard output sent to /dev/null. */
pid_t tu_spawn_stderr(const char *const *args, int *err_fd);

/* Write `text` to a new temporary .ini file; returns its path (malloc'ed).
 * The caller removes it; one still there when this process exits (a test
 * that failed before its unlink) is removed then. */
char *tu_temp_file(const char *text);

/*
 * Split `text` into lines in place; returns a malloc'ed array of `*n`
 * pointers (caller frees the array).
 */
char **tu_lines(char *text, size_t *n);

/* Number of processes whose command line contains `needle`, except us. */
int tu_count_procs(const char *needle);

/* The processes whose command line contains `needle`, except us: their
 * number, and the first `cap` of their pids in `pids` (may be NULL if
 * `cap` is 0). */
int tu_find_procs(const char *needle, pid_t *pids, int cap);

/* In a forked child: undo cmocka's signal handlers so a crash shows as a
 * signal in the wait status. */
void tu_default_signals(void);

/* Describe wait status `status` ("killed by signal 11", "exit status 3")
 * in a static buffer. */
const char *tu_child_status(int status);

/*
 * Put the LD_PRELOAD fixture `so` in this process's environment for the
 * flowrun the caller starts next (its instances inherit it), with ASan told
 * to accept a library loaded before its run-time (an ASan build wants its
 * own first); tu_preload_end takes both out again. Not nested.
 */
void tu_preload_begin(const char *so);
void tu_preload_end(void);

/*
 * Wait up to `timeout_s` until a progress line of flowrun (--progress) in
 * the file at `path` (its standard error) says items reached the sinks;
 * returns the most it said, 0 if none did in time.
 */
unsigned long long tu_wait_sinks(const char *path, double timeout_s);

/* Arm alarm(seconds) so a hung test dies instead of stalling CI. */
void tu_watchdog(unsigned seconds);

/* fork() for a test: the child is sent SIGTERM when the test process dies
 * (PR_SET_PDEATHSIG), so a test killed by ctest's timeout or by hand leaves
 * no flowrun behind; a flowrun stops its whole graph on that SIGTERM.
 * Returns what fork() returns. */
pid_t tu_fork(void);

/* Run `test` in a child process of its own (tu_fork: it changes the
 * process's signal actions, descriptors or limits) and return its exit
 * status, what `test` returned: 0 when it passes, or the number of the
 * check that failed. */
int tu_own_process_status(int (*test)(void));

/* tu_own_process_status, asserting that `test` returned 0. */
void tu_in_own_process(int (*test)(void));

/* For a caller of libflow with standard input and output closed and
 * standard error a file: call `call` so, and return 0 when it returned
 * `want`, its node said "cannot write to 'stdout': Bad file descriptor"
 * (a node's standard output is no descriptor of the run's, as under
 * flowrun >&-) and 0 and 1 are closed again after it; else the number of
 * the check that failed (1 to 3), said on standard error. */
int tu_closed_std_check(int (*call)(void), int want);

/* For a caller of libflow with a child of its own that ends while `call`
 * runs: once `in_call` (run in that child; NULL: tu_has_other_child) says
 * the call is under way, not after a fixed time, which a loaded machine
 * stretched (the child ended before the call started, or after it
 * returned). With `ignored`, SIGCHLD set to SIG_IGN, else to tu_on_chld.
 * Returns 0 when `call` returned `want` and the child was told as that
 * action says (sigaction(2), wait(2)): the handler ran once, by the time
 * the call returned, with its pid and status (CLD_EXITED, 7), and the
 * child stays the caller's to wait for; ignored, no zombie is left (a wait
 * finds no child: ECHILD). A try whose child had not ended when the call
 * returned shows nothing: it is made again, `tries` times at most, and
 * then TU_SIGCHLD_MISSED. Else the number of the check that failed (1 to
 * 6), said on standard error. */
#define TU_SIGCHLD_MISSED 77
int tu_sigchld_check_when(int (*call)(void), int want, bool ignored,
                          bool (*in_call)(void), int tries);

/* tu_sigchld_check_when, the child ending once its parent (the caller)
 * has another child (the call's node or srun), in 3 tries. */
int tu_sigchld_check(int (*call)(void), int want, bool ignored);

/* In a child of the caller's: whether the caller has another child
 * (/proc/PID/task/PID/children). */
bool tu_has_other_child(void);

/* A SIGCHLD handler (SA_SIGINFO) for the tests of a caller's SIGCHLD: it
 * counts its calls and keeps the last one's pid, si_code and status. */
extern volatile sig_atomic_t tu_chld_count, tu_chld_pid, tu_chld_code,
    tu_chld_status;
void tu_on_chld(int sig, siginfo_t *si, void *ctx);

/* Seconds on the monotonic clock. */
double tu_now_s(void);

/* CPU seconds (user + system) used by this process's reaped children so
 * far, and by the descendants they reaped: a run of flowrun counts its
 * instances. A measure of work that a loaded machine does not stretch, as
 * it does wall time. */
double tu_children_cpu_s(void);

/* Whether `n` is prime, by trial division: the tests' oracle. */
bool tu_is_prime(int64_t n);

/* SplitMix64, as published: advance `*state` and return its next value.
 * The tests' deterministic generator, and the oracle of the words node. */
uint64_t tu_splitmix64(uint64_t *state);

/*
 * flow_harness_run(h) with standard error going to a temporary file: its
 * result in `*rc`, and what the node logged there (malloc'ed,
 * NUL-terminated; the caller frees it).
 */
char *tu_harness_run_stderr(flow_harness_t *h, int *rc);

#endif
