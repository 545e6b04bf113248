/* cmdline.h — splits the command line into workloads and their key=value parameters. */
#ifndef TG_CMDLINE_H
#define TG_CMDLINE_H

#include <stdbool.h>
#include <stdint.h>

#define CMDLINE_MAX_PARAMS 16

struct workload_args {
    const char *name;
    int count;
    const char *key[CMDLINE_MAX_PARAMS];
    const char *value[CMDLINE_MAX_PARAMS];
};

void cmdline_begin(const char *cmdline);          /* copies it */
bool cmdline_next(struct workload_args *out);     /* false at the end */

/* Parameter lookup. Returns false if absent; prints a TG error line and
 * returns false if present but not a number (decimal or 0x-hex). */
bool arg_u64(const struct workload_args *a, const char *key, uint64_t *out);

#endif
