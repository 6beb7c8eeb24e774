#!/bin/sh
# tests/e2e/test_rpath.sh FLOWRUN PLUGIN_DIR: flowrun, run from the build
# tree or installed, never loads a shared library from the directory it
# runs in. Its build-tree RUNPATH was '::::::::::::::' (CMake's padding for
# the install RPATH: every empty entry is the current directory to the
# dynamic loader), so `build/bin/flowrun` in a directory holding a
# libm.so.6, libc.so.6 or libinih.so.1 loaded that file (with the sanitizer
# build's '/build/lib:', a libasan.so.8 there) before the system's. And
# the plugins in PLUGIN_DIR have no absolute build-tree RUNPATH.
#
# Exit status: 0 passed; 1 failed.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 FLOWRUN PLUGIN_DIR" >&2
    exit 2
fi
flowrun=$(realpath "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/flow-rpath-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0

# Every library flowrun or a built-in plugin needs, as a file that is no
# library: loading one fails the dynamic loader at once.
for lib in libm.so.6 libc.so.6 libinih.so.1 libzmq.so.5 libflow.so.2 \
    libflow.so.1 libflow.so.0 libasan.so.8 libubsan.so.1 libstdc++.so.6 libgcc_s.so.1; do
    echo 'not a library' >"$work/$lib"
done
printf '[src]\ntype = range\ncount = 3\n[out]\ntype = collect\n[links]\npush = src.out -> out.in\n' >"$work/g.ini"

out=$(cd "$work" && "$flowrun" --version 2>&1)
if [ $? -ne 0 ]; then
    echo "FAIL: flowrun --version in a directory of bogus libraries: $out" >&2
    fail=1
fi
out=$(cd "$work" && "$flowrun" g.ini --plugin-path "$2" 2>&1)
if [ $? -ne 0 ] || [ "$out" != "$(printf '0\n1\n2')" ]; then
    echo "FAIL: a run in a directory of bogus libraries: $out" >&2
    fail=1
fi
# A plugin's build-tree RUNPATH (to libflow) is relative to $ORIGIN, never
# the absolute build directory: `cmake --install` blanks it but keeps its
# bytes, so an installed plugin's contents depended on the path it was
# built in (two builds of the same source in different directories gave
# different plugins).
if command -v readelf >/dev/null; then
    for so in "$2"/*.so; do
        rp=$(readelf -d "$so" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]$/\1/p')
        case ":$rp" in
        *:/*)
            echo "FAIL: $so has an absolute RUNPATH: $rp" >&2
            fail=1
            ;;
        esac
    done
fi
if [ $fail -eq 0 ]; then
    echo "ok: no library is taken from the current directory, no build path in a plugin's RUNPATH"
fi
exit $fail
