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


class Qmp:
    """A minimal QMP client (greeting, negotiation, commands, events)."""

    def __init__(self, path, timeout=30.0):
        import json
        import socket
        self.json = json
        deadline = time.perf_counter() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                # The VMM is still starting: its socket appears shortly.
                self.sock.close()
                if time.perf_counter() > deadline:
                    raise
                time.sleep(0.002)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.events = []
        self._read()  # greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return self.json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(self.json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise RuntimeError(f"{name}: {reply['error']}")
            return reply["return"]

    def wait_migration(self, poll=0.002):
        """Polls query-migrate until completed or failed; returns the info."""
        while True:
            info = self.cmd("query-migrate")
            if info.get("status") in ("completed", "failed", "cancelled"):
                return info
            time.sleep(poll)

    def close(self):
        self.sock.close()


def svg_bars(title, groups, series, values, unit, path):
    """A grouped bar chart as a standalone SVG (no plotting library needed).
    values[group][serie] -> number."""
    colors = ["#3b7dd8", "#d8833b", "#59a14f", "#e15759"]
    width, height, left, bottom, top = 720, 360, 70, 60, 40
    vmax = max(max(v.values()) for v in values.values()) or 1
    plot_h = height - bottom - top
    gw = (width - left - 20) / len(groups)
    bw = gw * 0.8 / len(series)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<text x="{width/2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
           f'<line x1="{left}" y1="{height-bottom}" x2="{width-10}" y2="{height-bottom}" stroke="black"/>',
           f'<text x="15" y="{top + plot_h/2}" transform="rotate(-90 15 {top + plot_h/2})" text-anchor="middle">{unit}</text>']
    for i in range(5):
        v = vmax * i / 4
        y = height - bottom - plot_h * i / 4
        out.append(f'<text x="{left-5}" y="{y+4}" text-anchor="end">{v:.3g}</text>')
        out.append(f'<line x1="{left}" y1="{y}" x2="{width-10}" y2="{y}" stroke="#ddd"/>')
    for gi, g in enumerate(groups):
        x0 = left + gi * gw + gw * 0.1
        for si, s in enumerate(series):
            v = values[g].get(s, 0)
            h = plot_h * v / vmax
            x = x0 + si * bw
            out.append(f'<rect x="{x:.1f}" y="{height-bottom-h:.1f}" width="{bw*0.9:.1f}" height="{h:.1f}" fill="{colors[si % 4]}"/>')
            out.append(f'<text x="{x + bw*0.45:.1f}" y="{height-bottom-h-3:.1f}" text-anchor="middle" font-size="10">{v:.3g}</text>')
        out.append(f'<text x="{x0 + gw*0.4:.1f}" y="{height-bottom+18}" text-anchor="middle">{g}</text>')
    for si, s in enumerate(series):
        out.append(f'<rect x="{left + si*140}" y="{height-22}" width="12" height="12" fill="{colors[si % 4]}"/>')
        out.append(f'<text x="{left + si*140 + 16}" y="{height-12}">{s}</text>')
    out.append("</svg>")
    Path(path).write_text("\n".join(out) + "\n")
