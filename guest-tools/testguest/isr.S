/* isr.S — the IDT and the ring-0 interrupt handlers, all tiny (ring 0 is
 * emulated under PVM). The IDT is static: stub i sits at isr_table + 16*i in a
 * 4 KiB-aligned table, so gate i's offset is isr_table_lo + 16*i with no carry
 * into isr_table_hi (both sliced out of the address by linker.ld).
 *
 *   0..31       exceptions -> tg_fault_report (fault.c): print, exit 0x7f
 *   3 (#BP)     except this one, DPL 3: the system call, "int3" with the
 *               number in %rax (layout.h). Not "int 0x80": under PVM an INT n
 *               from ring 3 comes back as #UD; int3 is a #BP everywhere.
 *   0x20        PIT IRQ0: count a tick, EOI the master PIC
 *   0x21..0x2e  other PIC IRQs (all masked, but harmless): EOI and return
 *   0x27, 0x2f  PIC spurious, 0xff LAPIC spurious: return, no EOI
 *   0xf0        wake-up IPI to a sleeping AP: EOI the LAPIC and return
 *   others      unexpected: reported like an exception (err 0)
 */
#include "layout.h"


        .section .text.isr, "ax"
        .balign 4096
        .globl isr_table
isr_table:
        .set vec, 0
        .rept 256
        .org vec * 16
        .if (vec == VEC_IRQ0)
        jmp irq0
        .elseif (vec >= 0x21) && (vec <= 0x26)
        jmp irq_master
        .elseif (vec >= 0x28) && (vec <= 0x2e)
        jmp irq_slave
        .elseif (vec == VEC_WAKE)
        jmp ipi_wake
        .elseif (vec == VEC_SPURIOUS_MASTER) || (vec == VEC_SPURIOUS_SLAVE) || (vec == VEC_APIC_SPURIOUS)
        iretq
        .elseif (vec == VEC_SYSCALL)
        jmp sys_call
        .elseif (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
        pushq $vec              /* the CPU pushed an error code */
        jmp fault_common
        .else
        pushq $0
        pushq $vec
        jmp fault_common
        .endif
        .set vec, vec + 1
        .endr
        .org 256 * 16

        .text
irq0:
        incq tg_ticks(%rip)
        pushq %rax
        movb $0x20, %al
        outb %al, $0x20
        popq %rax
        iretq

irq_master:
        pushq %rax
        movb $0x20, %al
        outb %al, $0x20
        popq %rax
        iretq

irq_slave:
        pushq %rax
        movb $0x20, %al
        outb %al, $0xa0
        outb %al, $0x20
        popq %rax
        iretq

/* The IPI only has to end the receiver's HLT; its EOI keeps the LAPIC's
 * in-service bit from blocking the next one. */
ipi_wake:
        pushq %rax
        movl $LAPIC_BASE, %eax
        movl $0, LAPIC_EOI(%rax)
        popq %rax
        iretq

sys_call:
        cmpq $SYS_WAIT, %rax
        je sys_wait
        cmpq $SYS_WAIT_NE, %rax
        je sys_wait_ne
        cmpq $SYS_IPI, %rax
        je sys_ipi
        cmpq $SYS_TRIPLE, %rax
        je sys_triple
        pushq $0                /* a stray int3: report it */
        pushq $VEC_SYSCALL
        jmp fault_common

/* SYS_WAIT, %rdi = tick target: if tg_ticks < %rdi, sleep until the next
 * interrupt; return at once otherwise. Ring 3 cannot do "cli; check; hlt"
 * itself (no HLT, and under PVM no CLI in user mode), so the check is made
 * here with IF=0 (interrupt gate), and STI's one-instruction shadow makes
 * "sti; hlt" atomic: a tick that arrives after the check wakes the HLT
 * instead of being lost before it. The IRQ handler runs nested on this stack
 * and returns after the HLT; iretq restores the caller's RFLAGS. (PVM ignores
 * the STI shadow, so there a tick may slip in between and the wake-up comes
 * one tick late; never a hang, as the caller only waits on a running PIT.) */
sys_wait:
        cmpq %rdi, tg_ticks(%rip)
        jae 1f
        sti
        hlt
1:      iretq

/* SYS_WAIT_NE, %rdi = address, %rsi = value: as SYS_WAIT, but the condition
 * is a word in memory that another CPU changes (an AP waiting for work).
 * The other CPU sends VEC_WAKE after the change; under PVM, where the STI
 * shadow is ignored, that IPI may land before the HLT, so the sender repeats
 * it until the sleeper shows it has woken (smp_workload.c). */
sys_wait_ne:
        cmpq %rsi, (%rdi)
        jne 1f
        sti
        hlt
1:      iretq

/* SYS_IPI, %rdi = ICR high dword (destination APIC id << 24), %rsi = ICR low
 * dword (vector, delivery mode, level). In ring 0 because that is where
 * firmware and kernels program the ICR; the write of the low dword sends.
 * Waits first for the previous IPI to leave (delivery status, bit 12). */
sys_ipi:
        pushq %rax
        movl $LAPIC_BASE, %eax
1:      testl $0x1000, LAPIC_ICR_LO(%rax)
        jnz 1b
        movl %edi, LAPIC_ICR_HI(%rax)
        movl %esi, LAPIC_ICR_LO(%rax)
        popq %rax
        iretq

sys_triple:
        lidt null_idt_ptr(%rip)
        ud2                     /* no IDT: #UD -> #DF -> shutdown. Not int3:
                                   PVM's emulator cannot emulate INT n in ring 0 */

/* Stack: vector, error code, then the CPU frame (rip, cs, rflags, rsp, ss). */
fault_common:
        movq %rsp, %rdi
        andq $-16, %rsp
        call tg_fault_report
1:      cli
        hlt
        jmp 1b

        .section .data.idt, "aw"
        .balign 16
idt:
        .set vec, 0
        .rept 256
        .word isr_table_lo + vec * 16
        .word SEL_KCODE
        .if vec == 8
        .byte 1                 /* IST1: a double fault gets a known-good stack */
        .else
        .byte 0
        .endif
        .if vec == VEC_SYSCALL
        .byte 0xee              /* present, DPL 3, 64-bit interrupt gate */
        .else
        .byte 0x8e              /* present, DPL 0, 64-bit interrupt gate */
        .endif
        .word isr_table_hi
        .long 0
        .long 0
        .set vec, vec + 1
        .endr
idt_end:

        .data
        .balign 8
        .globl idt_ptr
idt_ptr:
        .word idt_end - idt - 1
        .quad idt
null_idt_ptr:
        .word 0
        .quad 0

        .bss
        .balign 8
        .globl tg_ticks
tg_ticks:
        .quad 0                 /* IRQ0 count; ring 3 reads it (all pages are U/S=1) */

        .section .note.GNU-stack, "", @progbits
