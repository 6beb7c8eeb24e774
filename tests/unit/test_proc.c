/* SPDX-License-Identifier: MIT */
/*
 * test_proc.c: the names of signals in flowrun's messages (proc.c), the
 * real-time ones that glibc does not name written as `kill -l` writes the
 * lower half of them.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static void
test_proc_sig_abbrev(void **unused)
{
    char buf[FLOW__SIG_ABBREV];

    (void)unused;
    assert_string_equal(flow__sig_abbrev(SIGTERM, buf), "TERM");
    assert_string_equal(flow__sig_abbrev(SIGRTMIN, buf), "RTMIN");
    assert_string_equal(flow__sig_abbrev(SIGRTMAX, buf), "RTMAX");
    /* bash: kill -l 35 says RTMIN+1 (SIGRTMIN is 34 on glibc) */
    assert_string_equal(flow__sig_abbrev(SIGRTMIN + 1, buf), "RTMIN+1");
    assert_string_equal(flow__sig_abbrev(SIGRTMIN + 12, buf), "RTMIN+12");
    assert_string_equal(flow__sig_abbrev(SIGRTMAX + 1, buf), "?");
    /* Past half way, RTMAX-n: kill -l 63 says RTMAX-1 (it said RTMIN+29) */
    assert_string_equal(flow__sig_abbrev(SIGRTMAX - 1, buf), "RTMAX-1");
}

/* Every real-time signal named as bash's `kill -l N` names it (the oracle,
 * run here; skipped without /bin/bash). */
static void
test_proc_sig_abbrev_bash(void **unused)
{
    char buf[FLOW__SIG_ABBREV], cmd[64], want[64];

    (void)unused;
    if (access("/bin/bash", X_OK))
        skip();
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++) {
        FILE *f;
        snprintf(cmd, sizeof(cmd), "/bin/bash -c 'kill -l %d'", sig);
        f = popen(cmd, "r");
        assert_non_null(f);
        assert_non_null(fgets(want, sizeof(want), f));
        assert_int_equal(pclose(f), 0);
        want[strcspn(want, "\n")] = '\0';
        assert_string_equal(flow__sig_abbrev(sig, buf), want);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proc_sig_abbrev),
        cmocka_unit_test(test_proc_sig_abbrev_bash),
    };

    return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
