/* SPDX-License-Identifier: MIT */
/*
 * test_pin.c: the node key `pin` (CPU affinity) on real processes. The
 * fixture cpuprobe reports, from /proc, the CPUs every thread of each
 * instance may use; the oracle is the pin list itself and this test's own
 * affinity (sched_getaffinity), which unpinned instances inherit. A CPU
 * that is not available fails the instance, named; a bad list fails
 * --check with the file, line and key.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#ifndef FLOW_FIXTURE_PLUGIN_DIR
#error "FLOW_FIXTURE_PLUGIN_DIR must name the fixture plugin directory"
#endif

static const char fixture_dir[] = FLOW_FIXTURE_PLUGIN_DIR;

/* Parse a kernel CPU list ("0-3,5") into `set`; false if malformed. */
static bool
parse_list(const char *s, cpu_set_t *set)
{
    CPU_ZERO(set);
    while (*s) {
        char *end;
        unsigned long a = strtoul(s, &end, 10), b = a;

        if (end == s)
            return false;
        if (*end == '-')
            b = strtoul(end + 1, &end, 10);
        if (b < a || b >= CPU_SETSIZE)
            return false;
        for (unsigned long c = a; c <= b; c++)
            CPU_SET(c, set);
        if (*end == ',')
            end++;
        else if (*end)
            return false;
        s = end;
    }
    return true;
}

/* The CPUs this test may use, ascending, in `cpus` (at most `max`). */
static size_t
own_cpus(unsigned *cpus, size_t max, cpu_set_t *set)
{
    size_t n = 0;

    assert_int_equal(sched_getaffinity(0, sizeof(*set), set), 0);
    for (unsigned c = 0; c < CPU_SETSIZE && n < max; c++)
        if (CPU_ISSET(c, set))
            cpus[n++] = c;
    assert_true(n > 0);
    return n;
}

/* Run `instances` cpuprobes with `pin` (NULL: none) into a collector. */
static int
run_probes(tu_result_t *r, unsigned instances, const char *pin)
{
    char text[512];

    snprintf(text, sizeof(text),
             "[probe]\ntype = cpuprobe\ninstances = %u\n%s%s%s"
             "[out]\ntype = collect\n"
             "[links]\npush = probe.out -> out.in\n",
             instances, pin ? "pin = " : "", pin ? pin : "", pin ? "\n" : "");
    return tu_run_graph(r, 60, text, "--plugin-path", fixture_dir, NULL);
}

/*
 * Check the report of each of `instances` instances in `out`: every one of
 * its threads (at least 2: the node's and libzmq's) may use exactly the
 * CPUs of `want[i]`.
 */
static void
check_reports(char *out, unsigned instances, const cpu_set_t *want)
{
    size_t n;
    char **lines = tu_lines(out, &n);
    bool seen[64] = { false };

    assert_int_equal(n, instances);
    for (size_t k = 0; k < n; k++) {
        unsigned inst, threads;
        int off;
        char *save = NULL, *tok;

        if (sscanf(lines[k], "probe[%u] %u%n", &inst, &threads, &off) != 2)
            fail_msg("bad report '%s'", lines[k]);
        assert_true(inst < instances && !seen[inst]);
        seen[inst] = true;
        assert_true(threads >= 2);
        unsigned lists = 0;
        for (tok = strtok_r(lines[k] + off, " ", &save); tok;
             tok = strtok_r(NULL, " ", &save)) {
            cpu_set_t got;
            if (!parse_list(tok, &got))
                fail_msg("bad CPU list '%s' in '%s'", tok, lines[k]);
            if (!CPU_EQUAL(&got, &want[inst]))
                fail_msg("instance %u: a thread may use CPUs %s", inst, tok);
            lists++;
        }
        assert_int_equal(lists, threads);
    }
    free(lines);
}

/* Instance i of a pinned node runs on the i-th CPU of the list (round
 * robin), every thread of it; an unpinned node keeps the launcher's
 * CPUs. */
static void
test_pin_places_instances(void **unused)
{
    unsigned cpus[CPU_SETSIZE];
    cpu_set_t mine, want[5];
    size_t ncpu = own_cpus(cpus, CPU_SETSIZE, &mine);
    char pin[64];
    tu_result_t r;

    (void)unused;
    /* Unpinned: what this test may use. */
    for (int i = 0; i < 3; i++)
        want[i] = mine;
    if (run_probes(&r, 3, NULL) != 0)
        fail_msg("status %d: %s", r.status, r.err);
    check_reports(r.out, 3, want);
    tu_result_release(&r);
    if (run_probes(&r, 3, "none") != 0)
        fail_msg("pin = none: status %d: %s", r.status, r.err);
    check_reports(r.out, 3, want);
    tu_result_release(&r);

    /* Pinned, listed last CPU first: 5 instances over 1 or 2 CPUs. */
    unsigned a = cpus[ncpu - 1], b = cpus[0];
    if (ncpu > 1)
        snprintf(pin, sizeof(pin), "%u,%u", a, b);
    else
        snprintf(pin, sizeof(pin), "%u", a);
    for (unsigned i = 0; i < 5; i++) {
        CPU_ZERO(&want[i]);
        CPU_SET(ncpu > 1 && i % 2 ? b : a, &want[i]);
    }
    if (run_probes(&r, 5, pin) != 0)
        fail_msg("pin = %s: status %d: %s", pin, r.status, r.err);
    check_reports(r.out, 5, want);
    tu_result_release(&r);

    /* A range: "b-a" covers every CPU from the first to the last. */
    if (ncpu > 1 && a - b + 1 == ncpu) {
        snprintf(pin, sizeof(pin), "%u-%u", b, a);
        for (unsigned i = 0; i < 2; i++) {
            CPU_ZERO(&want[i]);
            CPU_SET(cpus[i], &want[i]);
        }
        if (run_probes(&r, 2, pin) != 0)
            fail_msg("pin = %s: status %d: %s", pin, r.status, r.err);
        check_reports(r.out, 2, want);
        tu_result_release(&r);
    }
}

/* A CPU the machine does not have (the first past /sys's "possible"
 * list) fails the instance, named, and the run. (A CPU merely outside this
 * test's own mask would not: pin sets the mask outright, as taskset.) */
static void
test_pin_unavailable_cpu(void **unused)
{
    unsigned cpus[CPU_SETSIZE];
    cpu_set_t mine, possible;
    unsigned bad = 0;
    char pin[64], want[128], text[4096] = "";
    FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
    tu_result_t r;

    (void)unused;
    own_cpus(cpus, CPU_SETSIZE, &mine);
    if (f) {
        if (fgets(text, sizeof(text), f))
            text[strcspn(text, "\n")] = '\0';
        fclose(f);
    }
    if (text[0] && parse_list(text, &possible)) {
        for (unsigned c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &possible))
                bad = c + 1;
    } else {
        long n = sysconf(_SC_NPROCESSORS_CONF);
        bad = n > 0 ? (unsigned)n : CPU_SETSIZE;
    }
    if (bad > 1023) {
        skip();
        return;
    }
    /* Instance 0 gets an available CPU, instance 1 the missing one. */
    snprintf(pin, sizeof(pin), "%u,%u", cpus[0], bad);
    assert_int_equal(run_probes(&r, 2, pin), 1);
    snprintf(want, sizeof(want), "cannot pin to CPU %u (key 'pin')", bad);
    tu_assert_contains(r.err, want);
    tu_assert_contains(r.err, "node 'probe' instance 1");
    tu_result_release(&r);
}

/* Bad lists are refused before anything runs: file, line, key, value. */
static void
test_pin_bad_list(void **unused)
{
    static const char *const bad[] = {
        "",   "x",  "3-1",  "1024", "0,",    ",0",
        "-1", "0-", "1 ,2", "0;1",  "0-0-1", "99999999999999999999"
    };
    (void)unused;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256], *path, want[128];
        tu_result_t r;

        snprintf(text, sizeof(text),
                 "[probe]\ntype = cpuprobe\npin = %s\n"
                 "[out]\ntype = collect\n"
                 "[links]\npush = probe.out -> out.in\n",
                 bad[i]);
        path = tu_temp_file(text);
        assert_int_equal(tu_runl(&r, 30, "--check", "--plugin-path",
                                 fixture_dir, path, NULL),
                         2);
        snprintf(want, sizeof(want), "%s:3: bad value '%s' for 'pin'", path,
                 bad[i]);
        tu_assert_contains(r.err, want);
        tu_assert_contains(r.err, "node 'probe'");
        tu_result_release(&r);
        unlink(path);
        free(path);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pin_places_instances),
        cmocka_unit_test(test_pin_unavailable_cpu),
        cmocka_unit_test(test_pin_bad_list),
    };

    tu_watchdog(200);
    return cmocka_run_group_tests_name("pin", tests, NULL, NULL);
}
