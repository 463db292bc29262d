/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Prometheus text exposition (format 0.0.4) of the daemon and its workloads, for node_exporter's
 * textfile collector. Pure: structs in, text out. */

#include <stddef.h>
#include <stdio.h>

#include "client/workload-info.h"

/* Writes s as a label value: backslash, double quote and newline escaped as the format
 * requires. */
void prometheus_write_label_value(FILE *f, const char *s);
/* Writes every metric family with its HELP and TYPE lines; workloads need full properties. */
int prometheus_render(FILE *f, const DaemonInfo *d, const WorkloadInfo *workloads, size_t n);
