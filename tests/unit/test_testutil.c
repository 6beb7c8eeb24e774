/* SPDX-License-Identifier: MIT */
/*
 * test_testutil.c: what the tests' own helpers (tests/common/testutil.c)
 * promise beyond one test's run: the temporary files of tu_temp_file that
 * a test did not remove (an assertion failed before its unlink) are gone
 * when its process exits, and only its own: not at the exit of a forked
 * child, which did not make them. Each case runs in a child, whose exit
 * is the one looked at.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h> /* cmocka.h needs these first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

/* What a child does before it exits (0) with its made file's path. */
typedef enum { MADE_LEFT, MADE_IN_PARENT } made_t;

/* Fork a child that does `what` and exits; returns the path it made (or
 * `parent_made`), read from it, in `path` (`size` bytes). */
static void
child_exits(made_t what, const char *parent_made, char *path, size_t size)
{
    int p[2], status;
    ssize_t n;
    pid_t pid;

    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const char *made = parent_made;
        close(p[0]);
        if (what != MADE_IN_PARENT)
            made = tu_temp_file("[a]\ntype = range\n");
        n = write(p[1], made, strlen(made) + 1);
        exit(n == (ssize_t)strlen(made) + 1 ? 0 : 3); /* left there */
    }
    close(p[1]);
    n = read(p[0], path, size - 1);
    close(p[0]);
    assert_true(n > 0);
    path[n] = '\0';
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* A file the test left: gone once its process exits. */
static void
test_testutil_temp_left_removed(void **unused)
{
    char path[64];
    int gone;

    (void)unused;
    child_exits(MADE_LEFT, NULL, path, sizeof(path));
    assert_int_equal(strncmp(path, "/tmp/flow-test-", 15), 0);
    gone = access(path, F_OK) != 0 && errno == ENOENT;
    if (!gone)
        unlink(path);
    assert_true(gone);
}

/* A file of this process: kept at a forked child's exit, removed at
 * this process's own. */
static void
test_testutil_temp_kept_at_child_exit(void **unused)
{
    char *mine = tu_temp_file("[a]\ntype = range\n"), path[64];
    int kept;

    (void)unused;
    child_exits(MADE_IN_PARENT, mine, path, sizeof(path));
    assert_string_equal(path, mine);
    kept = access(mine, F_OK) == 0;
    unlink(mine);
    free(mine);
    assert_true(kept);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_testutil_temp_left_removed),
        cmocka_unit_test(test_testutil_temp_kept_at_child_exit),
    };

    return cmocka_run_group_tests_name("testutil", tests, NULL, NULL);
}
