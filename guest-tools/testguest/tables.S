/* tables.S — the static CPU tables: identity page tables (2 MiB pages, 0..4 GiB),
 * GDT, the BSP's 64-bit TSS with an all-ports I/O bitmap, and the BSP's
 * stacks. Built by the assembler and linker so that the emulated ring-0
 * start-up has nothing to compute (see entry.S). Field values that need
 * bit-slicing of addresses come from linker.ld (tss_base_*). The page tables,
 * GDT and IDT are shared by all CPUs; the APs' TSSs and stacks are in smp.c. */
#include "layout.h"

        .section .data.pagetables, "aw"
        .balign 4096
/* All levels U/S=1, R/W=1: ring 3 owns every byte of RAM and the LAPIC page. */
        .globl pml4
pml4:
        .quad pdpt + 0x7
        .fill 511, 8, 0
pdpt:
        .quad pd + 0x0000 + 0x7
        .quad pd + 0x1000 + 0x7
        .quad pd + 0x2000 + 0x7
        .quad pd + 0x3000 + 0x7
        .fill 508, 8, 0
/* 2048 PDEs of 2 MiB (PS|U|W|P = 0x87). The top GiB is the MMIO hole (IOAPIC,
 * LAPIC, ...), mapped uncached (PCD|PWT) to be correct on real hardware. */
pd:
        .set addr, 0
        .rept 1536
        .quad addr + 0x87
        .set addr, addr + 0x200000
        .endr
        .rept 512
        .quad addr + 0x9f
        .set addr, addr + 0x200000
        .endr

        .data
        .balign 16
        .globl gdt, gdt_end
gdt:
        .quad 0
        .quad 0x00af9a000000ffff        /* 0x08 kernel code, 64-bit */
        .quad 0x00cf92000000ffff        /* 0x10 kernel data */
        .quad 0x00cff2000000ffff        /* 0x18 user data, DPL 3 */
        .quad 0x00affa000000ffff        /* 0x20 user code, 64-bit, DPL 3 */
        .quad 0x00cf9a000000ffff        /* 0x28 kernel code, 32-bit: AP start-up */
        /* 0x30 the BSP's 64-bit available TSS, 16 bytes; base is below 4 GiB. */
        .word tss_end - tss - 1
        .word tss_base_0_15
        .byte tss_base_16_23
        .byte 0x89
        .byte 0x00
        .byte tss_base_24_31
        .long 0
        .long 0
        /* 0x40.. the APs' TSS descriptors, written by smp.c before each start. */
        .fill 16 * (TG_MAX_CPUS - 1), 1, 0
gdt_end:

        .balign 8
        .globl gdt_ptr
gdt_ptr:                                /* 32-bit lgdt reads 6 bytes, 64-bit 10 */
        .word gdt_end - gdt - 1
        .quad gdt

        .balign 16
        .globl tss
tss:
        .long 0
        .quad stack0_top                /* RSP0: interrupts from ring 3 */
        .quad 0, 0                      /* RSP1, RSP2 */
        .quad 0
        .quad stack_df_top              /* IST1: double fault */
        .quad 0, 0, 0, 0, 0, 0          /* IST2..IST7 */
        .quad 0
        .word 0
        .word tss_iomap - tss
/* I/O permission bitmap, all ports allowed. Real hardware lets ring 3 do I/O
 * because of IOPL 3 alone; PVM runs guest ring 3 with the host's IOPL 0, so
 * every IN/OUT there faults into KVM's emulator, which then consults this
 * bitmap (emulator_io_port_access_allowed) instead. The trailing 0xff byte is
 * required by the architecture (and the emulator reads 2 bytes). */
tss_iomap:
        .fill 8192, 1, 0
        .byte 0xff
tss_end:

/* Stacks are not part of .bss: ring 3 zeroes .bss while running on stack3. */
        .section .stacks, "aw", @nobits
        .balign 16
        .space STACK0_SIZE
        .globl stack0_top
stack0_top:
        .space STACK_DF_SIZE
        .globl stack_df_top
stack_df_top:
        .space STACK3_SIZE
        .globl stack3_top
stack3_top:

        .section .note.GNU-stack, "", @progbits
