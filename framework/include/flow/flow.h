/* SPDX-License-Identifier: MIT */
/* flow.h: the umbrella header for tools that load and run graphs. */
#ifndef FLOW_FLOW_H
#define FLOW_FLOW_H

#include "flow/error.h"
#include "flow/graph.h"
#include "flow/msg.h"
#include "flow/node.h"
#include "flow/version.h"

#endif
