/* ap_entry.S — how an application processor gets from its SIPI to ring 3:
 * real mode (the trampoline, copied by smp.c to AP_TRAMPOLINE below 1 MiB)
 * -> 32-bit protected mode -> long mode with the shared page tables, GDT and
 * IDT -> ring 3 in tg_ap_main (smp.c).
 *
 * Like entry.S, nothing is computed here (ring 0 and real mode are emulated
 * under PVM): the BSP has already built this AP's TSS and GDT descriptor and
 * left its CPU index, TSS selector and stacks in the mailbox tg_ap_boot. The
 * AP reads them all before it checks in, which is what lets the BSP reuse
 * the mailbox for the next AP. */
#include "layout.h"

/* Only this part must run below 1 MiB. It is position-independent in the one
 * way that matters: the SIPI starts it with CS = AP_TRAMPOLINE >> 4, IP = 0,
 * so everything it reads is addressed CS-relative from the copy. */
        .text
        .code16
        .globl ap_trampoline, ap_trampoline_end
ap_trampoline:
        cli
        movw %cs, %ax
        movw %ax, %ds
        lgdtl ap_gdtr - ap_trampoline   /* the real GDT, above 1 MiB */
        /* PE on; CD and NW off: INIT leaves the caches disabled. */
        movl %cr0, %eax
        andl $0x9fffffff, %eax
        orl $1, %eax
        movl %eax, %cr0
        ljmpl $SEL_KCODE32, $ap_entry32
        .balign 4
ap_gdtr:                                /* lgdtl reads the limit and a 32-bit base */
        .word gdt_limit                 /* linker.ld */
        .long gdt
ap_trampoline_end:

/* From here on the code runs where it was linked. */
        .code32
ap_entry32:
        movl $SEL_KDATA, %eax
        movl %eax, %ds
        movl %eax, %es
        movl %eax, %ss
        /* As in entry.S: PVM wants a valid TSS in TR before long mode. */
        movl tg_ap_boot + AP_BOOT_TSS, %eax
        ltr %ax
        movl $pml4, %eax
        movl %eax, %cr3
        movl %cr4, %eax
        orl $0x20, %eax         /* PAE */
        movl %eax, %cr4
        movl $0xc0000080, %ecx  /* EFER */
        rdmsr
        orl $0x100, %eax        /* LME */
        wrmsr
        movl %cr0, %eax
        orl $0x80000000, %eax   /* PG */
        movl %eax, %cr0
        ljmp $SEL_KCODE, $ap_entry64

        .code64
ap_entry64:
        movl $SEL_KDATA, %eax
        movl %eax, %ds
        movl %eax, %es
        movl %eax, %ss
        movl %eax, %fs
        movl %eax, %gs
        lidt idt_ptr(%rip)
        movq tg_ap_boot + AP_BOOT_RSP0(%rip), %rsp
        /* Software-enable the LAPIC (spurious vector 0xff) so that it takes
         * wake-up IPIs. Its LVTs stay masked, as INIT left them: the PIC and
         * NMIs go to the BSP only. */
        movl $LAPIC_BASE, %eax
        movl $(0x100 | VEC_APIC_SPURIOUS), LAPIC_SVR(%rax)
        movq tg_ap_boot + AP_BOOT_CPU(%rip), %rdi
        pushq $SEL_UDATA
        pushq tg_ap_boot + AP_BOOT_RSP3(%rip)
        pushq $(RFLAGS_IOPL3 | RFLAGS_IF | 0x2)
        pushq $SEL_UCODE
        pushq $ap_user_start
        iretq

/* Ring 3, %rdi = CPU index. */
ap_user_start:
        cld
        call tg_ap_main
1:      ud2
        jmp 1b

        .section .note.GNU-stack, "", @progbits
