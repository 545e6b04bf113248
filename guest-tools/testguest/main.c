/* main.c — ring-3 main: bring up the console, read the boot info, run the
 * command line's workloads in order, then idle. Entered from entry.S with
 * interrupts on (all PIC lines masked until a workload starts the timer). */
#include <stdint.h>

#include "boot_info.h"
#include "cmdline.h"
#include "hw.h"
#include "serial.h"
#include "workloads.h"

void tg_main(uint64_t start_info_paddr);

void tg_main(uint64_t start_info_paddr)
{
    serial_init();
    boot_info_load(start_info_paddr);

    struct workload_args args;
    cmdline_begin(boot_cmdline());
    while (cmdline_next(&args))
        workload_run(&args);

    serial_puts("TG done\n");
    idle_forever();
}
