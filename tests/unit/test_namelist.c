/* SPDX-License-Identifier: MIT */
/*
 * test_namelist.c: the lists of names of one-line messages (namelist.c),
 * "a[0], b[1], and 3 more". The oracle is the list written by hand, and
 * for the cut, the arithmetic of the buffer's room (END_ROOM, 32 bytes,
 * kept for the end).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

/* Every name fits: joined by ", ", no end added. */
static void
test_namelist_all_fit(void **state)
{
    char buf[128];
    flow_namelist_t l;

    (void)state;
    flow__namelist_init(&l, buf, sizeof(buf));
    flow__namelist_end(&l, "instances");
    assert_string_equal(buf, ""); /* none: nothing said */
    flow__namelist_add(&l, "%s[%u]", "src", 0u);
    assert_string_equal(buf, "src[0]");
    flow__namelist_add(&l, "%s[%u]", "out", 12u);
    flow__namelist_add(&l, "x");
    flow__namelist_end(&l, "instances");
    assert_string_equal(buf, "src[0], out[12], x");
}

/*
 * The room: a name goes in while the list, its ", " and the name leave
 * more than 32 bytes (END_ROOM) of the buffer free. In 64 bytes, after
 * "aaaaaaaaaa" (10), a second name of 19 letters fits (10 + 2 + 19 + 32 =
 * 63 < 64), one of 20 does not (64), and once one has not fitted, none
 * after it is shown, however short: the names shown are the first ones.
 */
static void
test_namelist_cut_keeps_order(void **state)
{
    char buf[64];
    flow_namelist_t l;

    (void)state;
    flow__namelist_init(&l, buf, sizeof(buf));
    flow__namelist_add(&l, "aaaaaaaaaa");
    flow__namelist_add(&l, "%s", "bbbbbbbbbbbbbbbbbbb"); /* 19: fits */
    assert_string_equal(buf, "aaaaaaaaaa, bbbbbbbbbbbbbbbbbbb");

    flow__namelist_init(&l, buf, sizeof(buf));
    flow__namelist_add(&l, "aaaaaaaaaa");
    flow__namelist_add(&l, "%s", "bbbbbbbbbbbbbbbbbbbb"); /* 20: not */
    flow__namelist_add(&l, "c");                          /* after it: not */
    flow__namelist_add(&l, "d");
    flow__namelist_end(&l, "instances");
    assert_string_equal(buf, "aaaaaaaaaa, and 3 more");
}

/* None fits: the count alone, with what they are. */
static void
test_namelist_none_fits(void **state)
{
    char buf[40], big[100];
    flow_namelist_t l;

    (void)state;
    memset(big, 'n', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    flow__namelist_init(&l, buf, sizeof(buf));
    flow__namelist_add(&l, "%s", big);
    flow__namelist_add(&l, "a");
    flow__namelist_end(&l, "instances");
    assert_string_equal(buf, "2 instances");
}

/* A name longer than the 4 KiB the function formats into is counted, not
 * cut, even in a buffer that would hold it. */
static void
test_namelist_huge_name(void **state)
{
    static char buf[16384], huge[5000];
    flow_namelist_t l;

    (void)state;
    memset(huge, 'h', sizeof(huge) - 1);
    flow__namelist_init(&l, buf, sizeof(buf));
    flow__namelist_add(&l, "first");
    flow__namelist_add(&l, "%s", huge);
    flow__namelist_end(&l, "names");
    assert_string_equal(buf, "first, and 1 more");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_namelist_all_fit),
        cmocka_unit_test(test_namelist_cut_keeps_order),
        cmocka_unit_test(test_namelist_none_fits),
        cmocka_unit_test(test_namelist_huge_name),
    };
    return cmocka_run_group_tests_name("namelist", tests, NULL, NULL);
}
