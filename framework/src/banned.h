/* SPDX-License-Identifier: MIT */
/*
 * banned.h: string functions that overflow or silently truncate, banned from
 * the framework (as git's banned.h). Use snprintf and memcpy with sizes.
 */
#ifndef FLOW_BANNED_H
#define FLOW_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(x) BANNED(gets)

#endif
