/* mptable.h — CPU count from the Intel MultiProcessor table. */
#ifndef TG_MPTABLE_H
#define TG_MPTABLE_H

/* Enabled processor entries of the MP table; 2 for an MP "default
 * configuration"; 1 when there is no valid table. */
int mptable_cpu_count(void);

#endif
