"""The aotc command line: one-line errors for bad input, --stats, -d/-D logs, --strace, SIGILL reports."""

from __future__ import annotations

import json
import re
import shutil
import signal
import struct
import subprocess
from pathlib import Path

import pytest
from conftest import run_aotc, run_native

HELLO_C = '#include <stdio.h>\nint main(void) { printf("hello %d\\n", 42); return 3; }\n'
E_PHOFF = 28  # offset of e_phoff in an ELF32 header
E_MACHINE = 18


def compile_c(source: str, out: Path, *flags: str) -> Path:
    """Compile a C snippet with gcc; fail loudly if the toolchain cannot."""
    src = out.with_suffix(".c")
    src.write_text(source)
    proc = subprocess.run(["gcc", *flags, str(src), "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory, guest_bins: dict[str, Path]) -> dict[str, Path]:
    """Files aotc must refuse, by the reason they are bad."""
    root = tmp_path_factory.mktemp("bad")
    guest = guest_bins["control-O2"].read_bytes()
    text = root / "notes.txt"
    text.write_text("just some text, not a program\n")
    truncated = root / "truncated"
    truncated.write_bytes(guest[:100])
    bad_phoff = bytearray(guest)
    bad_phoff[E_PHOFF : E_PHOFF + 4] = struct.pack("<I", len(guest) + 0x1000)
    phoff = root / "bad_phoff"
    phoff.write_bytes(bytes(bad_phoff))
    bad_machine = bytearray(guest)
    bad_machine[E_MACHINE : E_MACHINE + 2] = struct.pack("<H", 40)  # EM_ARM
    machine = root / "arm_machine"
    machine.write_bytes(bytes(bad_machine))
    for path in (truncated, phoff, machine):
        path.chmod(0o755)
    return {
        "missing": root / "does-not-exist",
        "text": text,
        "elf64": compile_c(HELLO_C, root / "hello64", "-static"),
        "truncated": truncated,
        "bad_phoff": phoff,
        "arm_machine": machine,
        "directory": root,
    }


def assert_one_line_error(stderr: bytes) -> str:
    """stderr is exactly one line, starting `aotc:`, and no traceback; return it."""
    text = stderr.decode(errors="replace")
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("aotc:"), text
    assert "Traceback" not in text
    return lines[0]


@pytest.mark.parametrize(
    "kind", ["missing", "text", "elf64", "truncated", "bad_phoff", "arm_machine", "directory"]
)
def test_bad_input_is_one_line_error(bad_inputs: dict[str, Path], kind: str) -> None:
    """Each bad program gets a one-line `aotc:` message and a non-zero exit, never a traceback."""
    result = run_aotc(bad_inputs[kind])
    assert result.returncode > 0
    assert result.stdout == b""
    assert_one_line_error(result.stderr)


def test_system_true_is_refused() -> None:
    """A 64-bit dynamically linked host program (/bin/true) is refused cleanly."""
    result = run_aotc(Path(shutil.which("true") or "/bin/true"))
    assert result.returncode > 0
    assert_one_line_error(result.stderr)


def test_missing_interpreter_is_one_line(tmp_path: Path) -> None:
    """A dynamically linked i386 program runs; one whose interpreter cannot be found (a sysroot
    without it, its PT_INTERP renamed) is refused with one line naming the interpreter."""
    binary = compile_c(HELLO_C, tmp_path / "hello_dyn", "-m32")
    assert run_aotc(binary).stdout == run_native(binary).stdout == b"hello 42\n"
    data = binary.read_bytes()
    at = data.index(b"/lib/ld-linux.so.2\0")
    broken = tmp_path / "broken"
    broken.write_bytes(data[:at] + b"/lib/ld-nopex.so.2" + data[at + 18:])
    result = run_aotc(broken)
    assert result.returncode > 0
    line = assert_one_line_error(result.stderr)
    assert "interpreter" in line and "ld-nopex.so.2" in line


def test_stats_json(guest_bins: dict[str, Path], tmp_path: Path) -> None:
    """--stats writes the counters as JSON; a --no-cache run translates and loads nothing from the cache."""
    binary = guest_bins["control-O2"]
    stats = tmp_path / "stats.json"
    native = run_native(binary)
    result = run_aotc(binary, options=["--stats", str(stats)])
    assert (result.returncode, result.stdout) == (native.returncode, native.stdout)
    data = json.loads(stats.read_text())
    for key in (
        "tbs_translated",
        "tbs_from_cache",
        "guest_insns_translated",
        "dispatcher_exits",
        "translate_seconds",
        "run_seconds",
    ):
        assert key in data, f"missing {key}: {data}"
    assert data["tbs_translated"] > 0
    assert data["tbs_from_cache"] == 0
    assert data["guest_insns_translated"] >= data["tbs_translated"]
    assert data["translate_seconds"] >= 0 and data["run_seconds"] >= 0


def elf_entry(binary: Path) -> int:
    """The entry point of an ELF32 file."""
    return struct.unpack_from("<I", binary.read_bytes(), 24)[0]


def test_debug_log_sections(guest_bins: dict[str, Path], tmp_path: Path) -> None:
    """-d in_asm,op,op_opt,out_asm -D FILE logs every section (QEMU headers), from the entry point on."""
    binary = guest_bins["control-O2"]
    log = tmp_path / "aotc.log"
    native = run_native(binary)
    result = run_aotc(binary, options=["-d", "in_asm,op,op_opt,out_asm", "-D", str(log)])
    assert (result.returncode, result.stdout) == (native.returncode, native.stdout)
    text = log.read_text(errors="replace")
    for header in ("IN:", "OP:", "OP after optimization", "OUT:"):
        assert header in text, f"no {header!r} section in the log"
    assert re.search(rf"0x0*{elf_entry(binary):x}\b", text, re.IGNORECASE), (
        "entry point not in the in_asm log"
    )


def test_strace_prints_syscalls(guest_bins: dict[str, Path]) -> None:
    """--strace prints the guest's syscalls on stderr, with stdout unchanged."""
    binary = guest_bins["control-O2"]
    native = run_native(binary)
    result = run_aotc(binary, options=["--strace"])
    assert (result.returncode, result.stdout) == (native.returncode, native.stdout)
    lines = result.stderr.decode(errors="replace").splitlines()
    assert any(line.startswith("write(") for line in lines), lines[:20]
    assert any(line.startswith("exit_group(") for line in lines), lines[-5:]


def test_unknown_syscalls_are_reported_with_d_unimp(guest_bins: dict[str, Path]) -> None:
    """glibc's start-up asks for rseq (386), which aotc does not implement: -ENOSYS, said with -d unimp."""
    binary = guest_bins["control-O2"]
    native = run_native(binary)
    quiet = run_aotc(binary)
    result = run_aotc(binary, options=["-d", "unimp"])
    assert (result.returncode, result.stdout) == (native.returncode, native.stdout)
    assert "unknown syscall 386(" in result.stderr.decode(errors="replace")
    assert b"unknown syscall" not in quiet.stderr


def instruction_address(binary: Path, mnemonic: str) -> int:
    """The address of the first `mnemonic` in the binary's disassembly (GNU objdump)."""
    dump = subprocess.run(["objdump", "-d", str(binary)], capture_output=True, text=True, check=True).stdout
    match = re.search(rf"^\s*([0-9a-f]+):\s+(?:[0-9a-f]{{2}} )+\s*{mnemonic}\b", dump, re.MULTILINE)
    assert match, f"no {mnemonic} in {binary}"
    return int(match.group(1), 16)


def test_unsupported_instruction_is_sigill(guest_bins: dict[str, Path]) -> None:
    """An SSE4.1 pminsd (not offered by cpuid, not translated) kills the guest with SIGILL; stderr names
    the address and the bytes."""
    binary = guest_bins["faults-O2"]
    native = run_native(binary, ["sse41"])
    assert native.returncode == 0 and b"pminsd gave 0" in native.stdout
    result = run_aotc(binary, ["sse41"])
    assert result.returncode == -signal.SIGILL, result.stderr.decode(errors="replace")
    assert native.stdout.startswith(result.stdout) and result.stdout.startswith(b"mode sse41")
    stderr = result.stderr.decode(errors="replace")
    address = instruction_address(binary, "pminsd")
    assert re.search(rf"(0x)?0*{address:x}\b", stderr, re.IGNORECASE), stderr
    assert re.search(r"66\s?0f\s?38\s?39", stderr, re.IGNORECASE), stderr
