/* SPDX-License-Identifier: MIT */
/*
 * version.h: flow's version and the plugin ABI version, plus the export macro
 * used by every public header.
 */
#ifndef FLOW_VERSION_H
#define FLOW_VERSION_H

#include <stddef.h>

#define FLOW_VERSION_MAJOR  0
#define FLOW_VERSION_MINOR  10
#define FLOW_VERSION_PATCH  0
#define FLOW_VERSION_STRING "0.10.0"

/*
 * The node plugin ABI. A plugin built against another value is refused at
 * load time. Bump it whenever flow_node_desc_t changes other than by
 * appending fields at its end.
 */
#define FLOW_NODE_ABI 1

#if defined(__GNUC__)
#define FLOW_EXPORT __attribute__((visibility("default")))
#else
#define FLOW_EXPORT
#endif

/* C linkage for the declarations of every public header, so that C++
 * code (a plugin wrapping a C++ library) can include them. */
#ifdef __cplusplus
#define FLOW__EXTERN_C    extern "C"
#define FLOW__BEGIN_DECLS extern "C" {
#define FLOW__END_DECLS   }
#else
#define FLOW__EXTERN_C extern
#define FLOW__BEGIN_DECLS
#define FLOW__END_DECLS
#endif

FLOW__BEGIN_DECLS

/* Return FLOW_VERSION_STRING of the library actually linked. */
FLOW_EXPORT const char *flow_version(void);

FLOW__END_DECLS

#endif
