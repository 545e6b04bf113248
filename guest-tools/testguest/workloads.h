/* workloads.h — runs one workload named on the command line. */
#ifndef TG_WORKLOADS_H
#define TG_WORKLOADS_H

#include "cmdline.h"

void workload_run(const struct workload_args *args);

#endif
