/* entry.S — PVH entry note, 32-bit PVH entry, switch to long mode, drop to ring 3.
 *
 * Ring 0 is emulated (slowly) under PVM, so this path is a few dozen
 * instructions: every table it needs (page tables, GDT, TSS, IDT) is static
 * data built by the assembler and linker (tables.S, isr.S), nothing is
 * computed or zeroed here; the only C it calls is the PIC/LAPIC set-up
 * (ring0_interrupts_init). Ring 3 then zeroes .bss itself and runs C. */
#include "layout.h"

/* PVH: QEMU and vmm find the 32-bit entry through this note. The descriptor is
 * 8 bytes, like Linux's (_ASM_PTR): QEMU reads a size_t from a 64-bit ELF, and
 * a reader taking 4 bytes still gets the right (little-endian) value. */
        .section .note.Xen, "a", @note
        .balign 4
        .long 4                 /* namesz: "Xen\0" */
        .long 8                 /* descsz */
        .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz "Xen"
        .balign 4
        .quad pvh_entry

        .section .text.entry, "ax"
        .code32
        .globl pvh_entry
pvh_entry:
        /* PVH state: protected mode, paging off, flat segments, %ebx = start info. */
        cli
        movl %ebx, start_info_paddr
        lgdt gdt_ptr
        /* PVM wants a valid 64-bit TSS in TR when long mode is entered; a
         * legacy-mode LTR of our type-9 descriptor is exactly that. */
        movw $SEL_TSS0, %ax
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
        orl $0x80000001, %eax   /* PG | PE */
        movl %eax, %cr0
        ljmp $SEL_KCODE, $long_entry

        .code64
long_entry:
        movl $SEL_KDATA, %eax
        movl %eax, %ds
        movl %eax, %es
        movl %eax, %ss
        movl %eax, %fs
        movl %eax, %gs
        lidt idt_ptr(%rip)
        movq $stack0_top, %rsp
        /* The PIC must be remapped before IF=1, and ring 3 cannot keep IF=0
         * under PVM (user mode always runs with IF=1 there), so this is done
         * here, in ring 0. */
        call ring0_interrupts_init
        /* iretq to ring 3 with IOPL 3 (for real hardware; PVM ignores it and
         * uses the TSS I/O bitmap instead) and interrupts on. */
        pushq $SEL_UDATA
        pushq $stack3_top
        pushq $(RFLAGS_IOPL3 | RFLAGS_IF | 0x2)
        pushq $SEL_UCODE
        pushq $user_start
        iretq

/* Ring 3 from here on. */
        .text
user_start:
        cld
        movq $__bss_start, %rdi
        movq $__bss_end, %rcx
        subq %rdi, %rcx
        xorl %eax, %eax
        rep stosb
        movl start_info_paddr(%rip), %edi
        call tg_main
1:      ud2
        jmp 1b

        .data
        .balign 8
        .globl start_info_paddr
start_info_paddr:
        .quad 0                 /* written before .bss is zeroed, so it lives in .data */

        .section .note.GNU-stack, "", @progbits
