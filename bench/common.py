"""Shared helpers for the benchmarks: start a VMM on the test guest, wait for
a console line, and summarise samples. Benchmarks are scripts, never tests:
they report figures, they assert nothing about speed."""
import os
import select
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("VMM_BUILD_DIR", ROOT / "build"))
VMM = BUILD / "hypervisor" / "cli" / "vmm"
TESTGUEST = BUILD / "guest-tools" / "testguest" / "testguest.elf"
QEMU = "/usr/bin/qemu-system-x86_64"


def vmm_cmd(append, memory="256M", cpus=1):
    return [str(VMM), "run", "--kernel", str(TESTGUEST), "--memory", memory,
            "--cpus", str(cpus), "--append", append]


def qemu_cmd(append, memory="256M", cpus=1):
    return [QEMU, "-M", "microvm", "-enable-kvm", "-cpu", "host,-arch-capabilities",
            "-m", memory, "-smp", str(cpus), "-nodefaults", "-no-user-config",
            "-display", "none", "-serial", "stdio", "-no-reboot",
            "-kernel", str(TESTGUEST), "-append", append,
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]


class Guest:
    """A running VMM whose console is read line by line."""

    def __init__(self, cmd):
        self.start = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.buf = b""

    def wait_line(self, needle, timeout=30.0):
        """Seconds from process start to the first line containing needle."""
        deadline = time.perf_counter() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if needle.encode() in line:
                    return time.perf_counter() - self.start, line.decode(errors="replace")
            left = deadline - time.perf_counter()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError(f"no '{needle}' within {timeout}s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError(f"console closed before '{needle}': {self.proc.stderr.read().decode()}")
            self.buf += chunk

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


def summary(samples):
    s = sorted(samples)
    return {"n": len(s), "min": s[0], "median": statistics.median(s), "max": s[-1]}


def fmt_ms(stats):
    return f"{stats['min']*1e3:.1f} / **{stats['median']*1e3:.1f}** / {stats['max']*1e3:.1f}"


def write_section(doc, title, body):
    """Replaces (or appends) the section `## title` of doc with body."""
    path = ROOT / "docs" / doc
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    head = f"## {title}\n"
    if head in text:
        before, rest = text.split(head, 1)
        after = rest.split("\n## ", 1)
        text = before + head + body + ("\n## " + after[1] if len(after) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + head + body
    path.write_text(text)
