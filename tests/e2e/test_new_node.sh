#!/bin/sh
# tests/e2e/test_new_node.sh FLOWRUN SOURCE_DIR: the C that tools/flow-new-node
# writes is clang-format clean (the repository's .clang-format) and compiles
# (-Wall -Wextra -Wpedantic -Werror) whatever the node's name: every length
# from 1 to 50 characters, with underscores and digits. It was clean for one
# length only: the process callback's parameters were aligned for a 6
# character name, and longer names pushed lines past 80 columns.
# Names of 128 characters still compile; 129 are refused (exit 2), as flowrun
# would never look such a type up. C keywords compile too; the target names
# CMake reserves (test, all, ...) are refused.
#
# Environment: CC (default cc), CMOCKA_CFLAGS (to compile test_NAME.c).
# Exit status: 0 passed; 1 failed; 77 (ctest SKIP_RETURN_CODE) no
# clang-format, after the other checks passed.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 FLOWRUN SOURCE_DIR" >&2
    exit 2
fi
flowrun=$(realpath "$1")
src=$(realpath "$2")
new=$src/tools/flow-new-node
cc=${CC:-cc}
work=$(mktemp -d "${TMPDIR:-/tmp}/flow-new-node-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
# flow-new-node asks this flowrun whether a name is taken.
PATH=$(dirname "$flowrun"):$PATH
export PATH
# clang-format finds the style in a parent directory of the files.
cp "$src/.clang-format" "$work/"

failed=0
fail() {
    echo "FAIL: $*" >&2
    failed=1
}

formatter=
if command -v clang-format >/dev/null; then
    formatter=clang-format
fi

# The first `len` characters of a name with letters, digits and underscores.
name_of() {
    printf '%s' xa1_b2_c3_d4_e5_f6_g7_h8_i9_j0_k1_l2_m3_n4_o5_p6_q7_r8_s9_t0 |
        cut -c "1-$1"
}

# scaffold NAME: write its skeleton into $work/NAME.
scaffold() {
    if ! "$new" "$1" "$work/$1" >"$work/out" 2>&1; then
        cat "$work/out" >&2
        fail "flow-new-node $1 failed"
        return 1
    fi
}

# compiles NAME: its node and its test compile, warnings being errors.
compiles() {
    d=$work/$1
    # shellcheck disable=SC2086 # CMOCKA_CFLAGS: several flags
    $cc -std=gnu17 -Wall -Wextra -Wpedantic -Werror -fsyntax-only \
        -I"$src/framework/include" "$d/$1.c" ||
        fail "$1.c (${#1} characters) does not compile"
    # shellcheck disable=SC2086
    $cc -std=gnu17 -Wall -Wextra -Wpedantic -Werror -fsyntax-only \
        -DFLOW_NODE_STATIC -I"$src/framework/include" ${CMOCKA_CFLAGS:-} \
        "$d/test_$1.c" || fail "test_$1.c (${#1} characters) does not compile"
}

names=
for len in $(seq 1 50); do
    names="$names $(name_of "$len")"
done
names="$names oot_scale Upper_Case_9 node__two___underscores_"
for name in $names; do
    scaffold "$name" || continue
    [ -z "$formatter" ] && continue
    for f in "$work/$name/$name.c" "$work/$name/test_$name.c"; do
        if ! "$formatter" --dry-run --Werror "$f" 2>"$work/fmt"; then
            head -n 20 "$work/fmt" >&2
            fail "$(basename "$f") (a name of ${#name} characters) is not clang-format clean"
        fi
    done
done
# Compiling takes longer: the lengths where lines used to break.
for len in 1 6 7 40 50; do
    compiles "$(name_of "$len")"
done

long=$(printf 'y%.0s' $(seq 1 128))
if scaffold "$long"; then
    compiles "$long"
fi
rc=0
"$new" "${long}y" "$work/toolong" >/dev/null 2>"$work/err" || rc=$?
[ "$rc" = 2 ] || fail "a name of 129 characters: exit $rc, not 2"
grep -q "longer than 128 characters" "$work/err" ||
    fail "a name of 129 characters: no error saying so"
[ ! -e "$work/toolong" ] || fail "a name of 129 characters: wrote a skeleton"

# C keywords and the names of standard macros make skeletons that compile:
# the skeleton names nothing after the node but flow_node_NAME and strings
# (flow-new-node double refused a name that builds, tests and runs).
for name in double int errno bool; do
    if scaffold "$name"; then
        compiles "$name"
    fi
done
# The target names CMake reserves (policy CMP0037; test once the skeleton's
# enable_testing() ran) are refused: flow_add_node(test) stopped `cmake -S .
# -B build` with "The target name "test" is reserved".
for name in test all install clean help; do
    rc=0
    "$new" "$name" "$work/reserved_$name" >/dev/null 2>"$work/err" || rc=$?
    [ "$rc" = 2 ] || fail "the name $name, which CMake reserves: exit $rc, not 2"
    grep -q "is a target name CMake reserves" "$work/err" ||
        fail "the name $name, which CMake reserves: no error saying so"
    [ ! -e "$work/reserved_$name" ] ||
        fail "the name $name, which CMake reserves: wrote a skeleton"
done

if [ "$failed" != 0 ]; then
    exit 1
fi
if [ -z "$formatter" ]; then
    echo "SKIP: clang-format not installed (the skeletons compile)"
    exit 77
fi
echo "ok: skeletons clang-format clean for names of 1 to 50 characters"
