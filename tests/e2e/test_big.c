/* SPDX-License-Identifier: MIT */
/*
 * test_big.c: big frames (16 MiB) on a real run. The fixture pagefaults
 * counts the minor page faults of its process while it receives; the
 * oracle is the page count of what it received: a process that takes each
 * frame in fresh memory from the kernel (an mmap per frame, unmapped when
 * freed) faults every page of every frame in, one that reuses freed memory
 * only those of the few frames in flight at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#ifndef FLOW_FIXTURE_PLUGIN_DIR
#error "FLOW_FIXTURE_PLUGIN_DIR must name the fixture plugin directory"
#endif

static const char fixture_dir[] = FLOW_FIXTURE_PLUGIN_DIR;

/*
 * 24 int64 frames of 2^21 items (16 MiB each) into the fixture: at most
 * half their pages may fault in. Frames of 8 MiB and more were each a fresh
 * mmap in every instance (glibc's mmap threshold fixed at 8 MiB): every
 * page of every frame faulted in, in the libzmq thread that received it
 * (and in the producer that wrote it), 24 x 4096 faults here, and 16 MiB
 * frames moved at 0.4x the rate of raw libzmq, whose glibc reuses them.
 */
static void
test_big_frames_reuse_memory(void **unused)
{
    const long long frames = 24, items = 1 << 21;
    long long faults, bytes, msgs;
    long page = sysconf(_SC_PAGESIZE);
    char text[512];
    tu_result_t r;

    (void)unused;
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* AddressSanitizer's allocator maps every large block anew */
#endif
    snprintf(text, sizeof(text),
             "[src]\ntype = range\ncount = %lld\n"
             "[probe]\ntype = pagefaults\n"
             "[out]\ntype = collect\n"
             "[links]\npush = src.out -> probe.in batch=%lld\n"
             "push = probe.out -> out.in\n",
             frames * items, items);
    assert_int_equal(
        tu_run_graph(&r, 120, text, "--plugin-path", fixture_dir, NULL), 0);
    if (sscanf(r.out, "%lld\n%lld\n%lld\n", &faults, &bytes, &msgs) != 3)
        fail_msg("bad report '%s'", r.out);
    assert_int_equal(msgs, frames);
    assert_int_equal(bytes, frames * items * 8);
    fprintf(stderr,
            "%lld frames of %lld bytes: %lld page faults (%lld pages)\n", msgs,
            items * 8, faults, bytes / page);
    assert_true(faults < bytes / page / 2);
    tu_result_release(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_big_frames_reuse_memory),
    };

    tu_default_signals();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
