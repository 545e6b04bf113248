/* layout.h — numbers shared by the assembly (.S) and C files: GDT selectors,
 * interrupt vectors and stack sizes. Only #defines, so the assembler can use it. */
#ifndef TG_LAYOUT_H
#define TG_LAYOUT_H

/* GDT slots (see tables.S). User data sits below user code, the order SYSRET
 * would want, although we never use SYSRET. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b /* 0x18 | RPL 3 */
#define SEL_UCODE 0x23 /* 0x20 | RPL 3 */
#define SEL_TSS 0x28

/* Vectors. PIC master at 0x20, slave at 0x28 (remapped at boot, hw.c). */
#define VEC_IRQ0 0x20
#define VEC_SPURIOUS_MASTER 0x27
#define VEC_SPURIOUS_SLAVE 0x2f
#define VEC_SYSCALL 3 /* #BP: "int3" is our system call, see isr.S */
#define VEC_APIC_SPURIOUS 0xff

/* System call numbers, in %rax at int3. Distinctive values, so that a stray
 * 0xcc byte is reported as a fault rather than taken as a call. */
#define SYS_WAIT 0x74670001   /* sleep until an interrupt unless tg_ticks >= %rdi */
#define SYS_TRIPLE 0x74670002 /* triple-fault the machine on purpose */

#define RFLAGS_IF 0x200
#define RFLAGS_IOPL3 0x3000

#define STACK0_SIZE 16384 /* ring 0: interrupts from ring 3 land here via TSS.RSP0 */
#define STACK_DF_SIZE 4096 /* IST1: double fault, so a broken stack still reports */
#define STACK3_SIZE 65536 /* ring 3: the program proper */

#endif
