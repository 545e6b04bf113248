/* smp_workload.h — the `smp` workload: the BSP's side and the APs' work loop. */
#ifndef TG_SMP_WORKLOAD_H
#define TG_SMP_WORKLOAD_H

#include "cmdline.h"

void smp_workload(const struct workload_args *args);

/* An AP's life after it has checked in: sleep until the BSP starts a run,
 * do its share, repeat. */
_Noreturn void smp_ap_loop(int cpu);

#endif
