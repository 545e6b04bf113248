/* layout.h — numbers shared by the assembly (.S) and C files: GDT selectors,
 * interrupt vectors and stack sizes. Only #defines, so the assembler can use it. */
#ifndef TG_LAYOUT_H
#define TG_LAYOUT_H

/* CPUs the guest can run: the BSP plus up to TG_MAX_CPUS - 1 application
 * processors (smp.c). Sizes the GDT's TSS slots and the per-CPU areas. */
#define TG_MAX_CPUS 16

/* GDT slots (see tables.S). User data sits below user code, the order SYSRET
 * would want, although we never use SYSRET. The 32-bit code segment is only
 * for an AP on its way from real mode to long mode (ap_entry.S). Every CPU
 * needs its own TSS descriptor (LTR marks it busy): 16 bytes per CPU from
 * SEL_TSS0, CPU 0 (the BSP) first. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b /* 0x18 | RPL 3 */
#define SEL_UCODE 0x23 /* 0x20 | RPL 3 */
#define SEL_KCODE32 0x28
#define SEL_TSS0 0x30
#define SEL_TSS(cpu) (SEL_TSS0 + 16 * (cpu))

/* Vectors. PIC master at 0x20, slave at 0x28 (remapped at boot, hw.c). */
#define VEC_IRQ0 0x20
#define VEC_SPURIOUS_MASTER 0x27
#define VEC_SPURIOUS_SLAVE 0x2f
#define VEC_SYSCALL 3 /* #BP: "int3" is our system call, see isr.S */
#define VEC_WAKE 0xf0 /* IPI that wakes a sleeping AP (smp_workload.c) */
#define VEC_APIC_SPURIOUS 0xff

/* System call numbers, in %rax at int3. Distinctive values, so that a stray
 * 0xcc byte is reported as a fault rather than taken as a call. */
#define SYS_WAIT 0x74670001   /* sleep until an interrupt unless tg_ticks >= %rdi */
#define SYS_TRIPLE 0x74670002 /* triple-fault the machine on purpose */
#define SYS_IPI 0x74670003    /* LAPIC ICR: high dword %rdi, then low dword %rsi */
#define SYS_WAIT_NE 0x74670004 /* sleep until an interrupt unless *(u64 *)%rdi != %rsi */

/* The local APIC (xAPIC MMIO; the page tables map it uncached). */
#define LAPIC_BASE 0xfee00000
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT0 0x350
#define LAPIC_LVT1 0x360

#define RFLAGS_IF 0x200
#define RFLAGS_IOPL3 0x3000

#define STACK0_SIZE 16384 /* ring 0: interrupts from ring 3 land here via TSS.RSP0 */
#define STACK_DF_SIZE 4096 /* IST1: double fault, so a broken stack still reports */
#define STACK3_SIZE 65536 /* ring 3: the program proper */
#define AP_STACK3_SIZE 16384 /* ring 3 of an AP: only the smp work loop */

/* The AP start-up code is copied here (below 1 MiB, page aligned: the SIPI
 * vector is its page number). 0x8000 is free under vmm for PVH boots (the
 * Linux boot stack) and holds nothing we still need under QEMU's qboot: the
 * start info is copied out at boot, the MP table sits at 0x9fc00 or in the
 * BIOS area. */
#define AP_TRAMPOLINE 0x8000

/* The mailbox from the BSP to the AP it is starting (tg_ap_boot, smp.c):
 * 64-bit fields, read by the AP in ring 0 before it checks in. */
#define AP_BOOT_CPU 0  /* CPU index: 1, 2, ... */
#define AP_BOOT_TSS 8  /* its TSS selector */
#define AP_BOOT_RSP0 16 /* its ring-0 stack top (also TSS.RSP0) */
#define AP_BOOT_RSP3 24 /* its ring-3 stack top */
#define AP_BOOT_WORDS 4

#endif
