#!/bin/sh
# ci-out-of-tree.sh: check that a node plugin builds and runs against an
# *installed* flow, without flow's source tree:
#
#   1. configure, build and `cmake --install` flow into a temporary prefix
#      (with an absolute CMAKE_INSTALL_LIBDIR, PREFIX/lib), and delete
#      the build tree;
#   2. scaffold a node with the installed flow-new-node, changing nothing;
#   3. build it out of tree with find_package(flow) (-DCMAKE_PREFIX_PATH),
#      and run its tests (harness unit tests and its example graph);
#   4. build it once more with plain cc and `pkg-config flow`;
#   5. run its example graph with the installed flowrun and --plugin-path,
#      and compare the output with a value computed here.
#
# Usage: tools/ci-out-of-tree.sh [FLOW_SOURCE_DIR]   (default: this repo)
# Environment: FLOW_BUILD_DIR (install from this already built tree instead
# of configuring and building one), JOBS (parallel build jobs, default 2),
# KEEP=1 keeps the temporary directory. Exit status 0 on success, 1 on any
# failure.
set -eu

src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
jobs=${JOBS:-2}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/flow-oot.XXXXXX")
cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then
        echo "ci-out-of-tree: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
fail() {
    echo "ci-out-of-tree: error: $*" >&2
    exit 1
}
step() {
    echo "== ci-out-of-tree: $*"
}

prefix=$tmp/prefix
name=oot_scale
node=$tmp/$name

if [ -n "${FLOW_BUILD_DIR:-}" ]; then
    # Reuse a built tree: every installed path is relative to the prefix.
    step "install flow from the build $FLOW_BUILD_DIR into $prefix"
    cmake --install "$FLOW_BUILD_DIR" --prefix "$prefix" >"$tmp/flow-install.log" ||
        fail "installing flow failed"
else
    step "install flow from $src into $prefix"
    # An absolute library directory (GNUInstallDirs takes one, as
    # -DCMAKE_INSTALL_LIBDIR=/usr/lib64): the installed flowrun looked for
    # its plugins in PREFIX/bin/../PREFIX/lib/flow/nodes, and flow.pc
    # joined PREFIX and PREFIX/lib.
    cmake -S "$src" -B "$tmp/flow-build" -DFLOW_TESTS=OFF \
        -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR="$prefix/lib" \
        >"$tmp/flow-configure.log" ||
        fail "configuring flow failed (see $tmp/flow-configure.log)"
    cmake --build "$tmp/flow-build" -j"$jobs" >"$tmp/flow-build.log" 2>&1 ||
        { cat "$tmp/flow-build.log" >&2; fail "building flow failed"; }
    cmake --install "$tmp/flow-build" >"$tmp/flow-install.log"
    # Nothing below may see the source or build tree.
    rm -rf "$tmp/flow-build"
    [ -f "$prefix/lib/libflow.so" ] || fail "no $prefix/lib/libflow.so"
fi

flowrun=$prefix/bin/flowrun
[ -x "$flowrun" ] || fail "no installed flowrun"
[ -x "$prefix/bin/flow-new-node" ] || fail "no installed flow-new-node"
[ -f "$prefix/share/doc/flow/LICENSE" ] || fail "no installed LICENSE"
# Every docs/ file the installed README links to is installed beside it.
doc=$prefix/share/doc/flow
[ -f "$doc/README.md" ] || fail "no installed README.md"
links=$(grep -o '](docs/[^)#]*' "$doc/README.md" | cut -c3- | sort -u)
[ -n "$links" ] || fail "no docs/ link found in the installed README.md"
for f in $links; do
    [ -f "$doc/$f" ] || fail "the installed README.md links to $f, not installed"
done
# The installed example graph, run by the installed flowrun: every line it
# prints reads the same backward, and it finds some (8,000 words of 4
# letters: about 12 palindromes expected).
"$flowrun" "$prefix/share/flow/graphs/palindromes.ini" >"$tmp/pal.txt" ||
    fail "the installed palindromes.ini failed"
[ -s "$tmp/pal.txt" ] || fail "the installed palindromes.ini found no palindrome"
awk '{ r = ""; for (i = length($0); i > 0; i--) r = r substr($0, i, 1)
       if ($0 == "" || r != $0) { print "not a palindrome: \"" $0 "\""; exit 1 } }' \
    "$tmp/pal.txt" >&2 || fail "the installed palindromes.ini printed a non-palindrome"
"$flowrun" --list-nodes >"$tmp/list.txt" || fail "flowrun --list-nodes failed"
if ! grep -q "$prefix/.*/range.so" "$tmp/list.txt"; then
    fail "the installed flowrun does not find the installed plugins"
fi

step "scaffold $name with the installed flow-new-node"
"$prefix/bin/flow-new-node" "$name" "$node" >/dev/null
# A built-in type's name, one that does not start with a letter, or a
# target name CMake reserves (flow_add_node(test) would not configure):
# refused (exit 2), nothing written.
for bad in collect _under 9lives test all; do
    rc=0
    "$prefix/bin/flow-new-node" "$bad" "$tmp/bad-$bad" 2>/dev/null || rc=$?
    [ "$rc" = 2 ] || fail "flow-new-node $bad exited $rc, not 2"
    [ ! -e "$tmp/bad-$bad" ] || fail "flow-new-node $bad wrote $tmp/bad-$bad"
done
# Without a flowrun to ask (a copy of the script alone, flowrun not on
# PATH): it says what it could not check, and scaffolds all the same.
mkdir "$tmp/alone"
cp "$prefix/bin/flow-new-node" "$tmp/alone/"
if ! PATH=/usr/bin:/bin command -v flowrun >/dev/null; then
    PATH=/usr/bin:/bin "$tmp/alone/flow-new-node" zeta "$tmp/zeta" \
        >/dev/null 2>"$tmp/alone.err" || fail "flow-new-node without flowrun failed"
    grep -q "warning: no flowrun beside this script, in ../build/bin or on PATH: not checked that 'zeta' is a new node type" \
        "$tmp/alone.err" || fail "flow-new-node without flowrun said nothing of it"
    [ -f "$tmp/zeta/zeta.c" ] || fail "flow-new-node without flowrun wrote no zeta.c"
fi

step "build $name out of tree with find_package(flow), run its tests"
cmake -S "$node" -B "$node/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_COMPILE_WARNING_AS_ERROR=ON >"$tmp/node-configure.log" ||
    { cat "$tmp/node-configure.log" >&2; fail "configuring $name failed"; }
cmake --build "$node/build" -j"$jobs" || fail "building $name failed"
[ -f "$node/build/$name.so" ] || fail "no $name.so"
ctest --test-dir "$node/build" --output-on-failure || fail "tests of $name failed"

step "build $name with cc and pkg-config flow"
pc=$(find "$prefix" -name flow.pc | head -n 1)
[ -n "$pc" ] || fail "no installed flow.pc"
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
mkdir -p "$tmp/pc"
# shellcheck disable=SC2046 # word splitting of the flags is intended
${CC:-cc} -std=gnu17 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden \
    -Wl,--no-undefined -o "$tmp/pc/$name.so" "$node/$name.c" \
    $(pkg-config --cflags --libs flow) || fail "building with pkg-config failed"
FLOW_PLUGIN_PATH=$tmp/pc "$flowrun" --describe "$name" >"$tmp/describe.txt" ||
    fail "flowrun --describe $name (FLOW_PLUGIN_PATH) failed"
grep -q factor "$tmp/describe.txt" || fail "--describe does not show 'factor'"

step "run $node/$name.ini with the installed flowrun"
count=1000
factor=7
out=$("$flowrun" "$node/$name.ini" --plugin-path "$node/build" --quiet \
    --timeout 60 --set count=$count --set factor=$factor) ||
    fail "the example graph failed"
lines=$(printf '%s\n' "$out" | grep -c .)
sum=$(printf '%s\n' "$out" | awk '{ s += $1 } END { printf "%d", s }')
# range gives 0 .. count-1; the node multiplies each by factor.
want=$((factor * (count - 1) * count / 2))
[ "$lines" -eq "$count" ] || fail "expected $count lines, got $lines"
[ "$sum" -eq "$want" ] || fail "expected a sum of $want, got $sum"
echo "ci-out-of-tree: ok ($count numbers, sum $sum)"
