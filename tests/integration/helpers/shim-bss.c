/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shim-target with a 64 MiB .bss: memory mapped before the shim's constructor runs, which the
 * shim prefaults and locks with MCL_CURRENT. */

#define SHIM_TARGET_BSS_MIB 64
#include "shim-target.c"
