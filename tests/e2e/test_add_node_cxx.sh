#!/bin/sh
# tests/e2e/test_add_node_cxx.sh SOURCE_DIR LIBFLOW: the installed package's
# flow_add_node (cmake/FlowAddNode.cmake) builds a node written in C++ as
# docs/writing-nodes.md says one is built: C++20 (its descriptor's
# designated initializers) and hidden visibility, so that only
# flow_node_entry is exported. It set the C standard and C visibility only:
# a C++ node compiled as C++17 (g++ 12's default), failed under -Wpedantic
# -Werror ("C++ designated initializers only available with -std=c++20")
# and exported every function of its own. Found porting a Pipe() server to
# a C++ plugin built out of tree with find_package(flow).
#
# Environment: CMAKE (default cmake), CXX (the C++ compiler).
# Exit status: 0 passed; 1 failed; 77 (ctest SKIP_RETURN_CODE) no C++
# compiler or no nm.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 SOURCE_DIR LIBFLOW" >&2
    exit 2
fi
src=$(realpath "$1")
lib=$(realpath "$2")
cmake=${CMAKE:-cmake}
if [ -z "${CXX:-}" ] || ! command -v nm >/dev/null; then
    echo "SKIP: no C++ compiler or no nm"
    exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/flow-add-node-cxx.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A project as an outside author writes it, with flow::flow standing for
# the installed package's target (the build tree's library and the
# source tree's headers).
cat >"$work/CMakeLists.txt" <<EOF2
cmake_minimum_required(VERSION 3.16)
project(cxxnode LANGUAGES C CXX)
add_library(flow::flow SHARED IMPORTED)
set_target_properties(flow::flow PROPERTIES IMPORTED_LOCATION "$lib"
  INTERFACE_INCLUDE_DIRECTORIES "$src/framework/include")
include("$src/cmake/FlowAddNode.cmake")
add_compile_options(-Wall -Wextra -Wpedantic -Werror
  -Wno-missing-field-initializers)
flow_add_node(cxxnode SOURCES cxxnode.cpp NO_INSTALL)
EOF2
cat >"$work/cxxnode.cpp" <<'EOF2'
#include <cstdint>

#include "flow/node.h"

// Not static: hidden visibility keeps it out of the plugin's exports.
int
cxxnode_helper_not_exported(int x)
{
    return x + 1;
}

static const flow_port_t ports[] = {
    FLOW_PORT_IN("in", FLOW_INT64, "numbers"),
    FLOW_PORT_OUT("out", FLOW_INT64, "the same numbers"), FLOW_PORT_END
};

static int
process(flow_node_t *node, void *, const char *, flow_msg_t **msg_p)
{
    return flow_node_send(node, "out", msg_p) == 0
               ? cxxnode_helper_not_exported(-1)
               : -1;
}

FLOW_NODE(cxxnode) = {
    FLOW_NODE_V1,
    .name = "cxxnode",
    .summary = "Forward numbers (C++)",
    .ports = ports,
    .process = process,
};
EOF2

if ! "$cmake" -S "$work" -B "$work/build" -DCMAKE_CXX_COMPILER="$CXX" \
    >"$work/log" 2>&1 || ! "$cmake" --build "$work/build" >>"$work/log" 2>&1; then
    tail -n 20 "$work/log" >&2
    echo "FAIL: flow_add_node does not build a C++ node with -Wpedantic -Werror" >&2
    exit 1
fi
exports=$(nm -D --defined-only "$work/build/cxxnode.so" | awk '{print $3}')
if ! printf '%s\n' "$exports" | grep -qx flow_node_entry; then
    echo "FAIL: cxxnode.so does not export flow_node_entry" >&2
    exit 1
fi
if printf '%s\n' "$exports" | grep -q cxxnode_helper_not_exported; then
    echo "FAIL: flow_add_node exports a C++ node's own functions (no hidden visibility)" >&2
    exit 1
fi
echo "ok: flow_add_node builds a C++ node as C++20 with hidden visibility"
