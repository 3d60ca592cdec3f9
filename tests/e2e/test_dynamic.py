"""Dynamically linked programs against native: the host's i386 libraries, dlopen and code replaced
under one address, ld.so run as the program, the sysroot's lookup rule, and what a shared cache saves
a second program that uses the same libc."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, aotc_command, guest_env, run_aotc, run_native

DYN = REPO / "tests" / "guests" / "dyn"
LD_SO = "/lib/ld-linux.so.2"
HELLO = r"""
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    printf("hello from %s with %d args, strlen=%zu\n", strrchr(argv[0], '/') + 1, argc, strlen(argv[0]));
    return argc;
}
"""
# a second program sharing libc: different code and libc functions of its own (qsort, snprintf)
OTHER = r"""
#include <stdio.h>
#include <stdlib.h>
int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(void) {
    int v[64];
    for (int i = 0; i < 64; i++) v[i] = (i * 37) % 64;
    qsort(v, 64, sizeof v[0], cmp);
    char buf[128];
    snprintf(buf, sizeof buf, "%d %d %s", v[0], v[63], "sorted");
    puts(buf);
    return 0;
}
"""
# where printf is, as the program sees it: the same in every program that maps this libc
WHERE = r"""
#include <stdio.h>
int main(void) { printf("%p\n", (void *)printf); return 0; }
"""


def _gcc(out: Path, *args: str) -> Path:
    subprocess.run(["gcc", "-m32", "-w", *args, "-o", str(out)], check=True, capture_output=True)
    return out


def _c(tmp: Path, name: str, source: str, *flags: str) -> Path:
    src = tmp / f"{name}.c"
    src.write_text(source)
    return _gcc(tmp / name, str(src), *flags)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("dynamic")
    plugin = str(DYN / "plugin.c")
    return {
        "liba": _gcc(tmp / "liba.so", "-shared", "-fpic", "-DFACTOR=3", '-DNAME="alpha"', plugin),
        "libb": _gcc(tmp / "libb.so", "-shared", "-fpic", "-DFACTOR=5", '-DNAME="beta"', plugin),
        "dlswap": _gcc(tmp / "dlswap", "-O2", str(DYN / "dlswap.c"), "-ldl"),
        "hello": _c(tmp, "hello", HELLO, "-O2", "-fno-pie", "-no-pie"),
        "hello_pie": _c(tmp, "hello_pie", HELLO, "-O2", "-fpie", "-pie"),
        "hello_static_pie": _c(tmp, "hello_static_pie", HELLO, "-O2", "-static-pie"),
        "other": _c(tmp, "other", OTHER, "-O2"),
        "where": _c(tmp, "where", WHERE, "-O2"),
        "where_m": _c(tmp, "where_m", WHERE, "-O2", "-Wl,--no-as-needed", "-lm", "-lrt"),
        "libtiny": _gcc(tmp / "libtiny.so", "-O1", "-shared", "-fpic", "-nostdlib", str(DYN / "tiny_lib.c")),
        "tiny": _gcc(tmp / "tiny", "-O1", "-nostdlib", "-fno-pie", "-no-pie", str(DYN / "tiny_main.c"),
                     f"-L{tmp}", "-ltiny", "-Wl,-rpath,$ORIGIN"),
    }


def _same(native, aotc) -> None:
    assert aotc.stdout == native.stdout, aotc.stderr.decode(errors="replace")[-2000:]
    assert aotc.returncode == native.returncode
    assert aotc.stderr == native.stderr


@pytest.mark.parametrize("name", ["hello", "hello_pie", "hello_static_pie"])
def test_hello_in_each_form(built: dict[str, Path], name: str) -> None:
    _same(run_native(built[name], ["x", "y"]), run_aotc(built[name], ["x", "y"]))


def test_dlopen_dlclose_and_code_replaced_under_one_address(built: dict[str, Path], tmp_path: Path) -> None:
    outs = []
    for who in ("native", "aotc"):
        scratch = tmp_path / who
        scratch.mkdir()
        args = [str(built["liba"]), str(built["libb"]), str(scratch)]
        run = run_native if who == "native" else run_aotc
        outs.append(run(built["dlswap"], args))
    native, aotc = outs
    assert b"round 2: beta:4 plugin(4)=21" in native.stdout and b"file k=8: 80" in native.stdout
    _same(native, aotc)


def test_ld_so_run_as_the_program(built: dict[str, Path]) -> None:
    """ld.so as the program, loading the program itself; and --list (no fork: it loads and prints)."""
    hello = str(built["hello"])
    _same(run_native(Path(LD_SO), [hello, "a"]), run_aotc(Path(LD_SO), [hello, "a"]))
    native = run_native(Path(LD_SO), ["--list", hello])
    assert b"libc.so.6" in native.stdout
    native = type(native)(native.returncode, b"".join(  # aotc gives no vDSO, by design
        line for line in native.stdout.splitlines(keepends=True) if b"linux-gate" not in line), b"")
    aotc = run_aotc(Path(LD_SO), ["--list", hello])
    # the addresses ld.so prints are where each run put the libraries: compare names only
    def names(out: bytes) -> list[bytes]:
        return [line.split(b"(")[0].strip() for line in out.splitlines()]
    assert names(aotc.stdout) == names(native.stdout) and aotc.returncode == native.returncode == 0


def test_sysroot_is_looked_up_first_then_the_host(built: dict[str, Path], tmp_path: Path) -> None:
    """-L DIR: /etc/aotc-only exists under DIR only; /etc/hostname falls back to the host's; the
    program's interpreter comes from DIR (a copy of the host's), relative paths are never redirected.
    QEMU_LD_PREFIX does the same when AOTC_LD_PREFIX is unset."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "aotc-only").write_text("from the sysroot\n")
    (root / "lib").mkdir()
    shutil.copy(LD_SO, root / "lib" / "ld-linux.so.2")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "aotc-only").write_text("relative, not redirected\n")
    src = tmp_path / "cat.c"
    src.write_text('#include <stdio.h>\nint main(int c,char**v){for(int i=1;i<c;i++){FILE*f=fopen(v[i],"r");'
                   'char b[256];if(!f){printf("%s: missing\\n",v[i]);continue;}while(fgets(b,256,f))'
                   'fputs(b,stdout);fclose(f);}return 0;}\n')
    cat = _gcc(tmp_path / "cat", str(src), "-O2")
    args = ["/etc/aotc-only", "/etc/hostname", "etc/aotc-only"]
    host_name = Path("/etc/hostname").read_text()
    want = b"from the sysroot\n" + host_name.encode() + b"relative, not redirected\n"
    by_option = run_aotc(cat, args, options=["-L", str(root)], cwd=tmp_path)
    assert by_option.stdout == want, by_option.stderr
    by_env = run_aotc(cat, args, env=guest_env({"QEMU_LD_PREFIX": str(root)}), cwd=tmp_path)
    assert by_env.stdout == want, by_env.stderr
    ours_first = run_aotc(cat, args, env=guest_env({"QEMU_LD_PREFIX": "/nonexistent",
                                                     "AOTC_LD_PREFIX": str(root)}), cwd=tmp_path)
    assert ours_first.stdout == want
    without = run_aotc(cat, args, cwd=tmp_path)
    assert without.stdout.startswith(b"/etc/aotc-only: missing\n")


def test_a_library_lands_at_one_address_in_every_program(built: dict[str, Path]) -> None:
    """printf's address is the same for programs with and without libm mapped before libc."""
    plain = run_aotc(built["where"])
    with_libm = run_aotc(built["where_m"])
    assert plain.returncode == with_libm.returncode == 0
    assert plain.stdout == with_libm.stdout and plain.stdout.startswith(b"0x")


def _stats(path: Path) -> dict[str, float]:
    return json.loads(path.read_text())


def test_a_second_program_finds_libc_translated(built: dict[str, Path], tmp_path: Path) -> None:
    """With one cache, a different program using the same libc translates at most 10% of the blocks
    it runs (the issue's bar); run twice, it translates nothing."""
    cache = tmp_path / "cache"
    first = run_aotc(built["hello"], options=["--cache", str(cache), "--stats", str(tmp_path / "1.json")])
    assert first.returncode == 1
    second = run_aotc(built["other"], options=["--cache", str(cache), "--stats", str(tmp_path / "2.json")])
    _same(run_native(built["other"]), second)
    s = _stats(tmp_path / "2.json")
    ran = s["tbs_translated"] + s["tbs_from_cache"]
    assert s["tbs_translated"] <= 0.10 * ran, s
    run_aotc(built["other"], options=["--cache", str(cache), "--stats", str(tmp_path / "3.json")])
    assert _stats(tmp_path / "3.json")["tbs_translated"] == 0


def test_warm_translates_the_program_its_interpreter_and_libraries(built: dict[str, Path],
                                                                   tmp_path: Path) -> None:
    """`aotc warm` of a dynamic program (ld.so and a library found through DT_RUNPATH $ORIGIN) leaves
    almost nothing for the run to translate: blocks only reached through ld.so's indirect calls."""
    cache = tmp_path / "cache"
    warm = subprocess.run([*aotc_command(), "warm", "--cache", str(cache), str(built["tiny"])],
                          capture_output=True, text=True)
    assert warm.returncode == 0, warm.stderr
    run = run_aotc(built["tiny"], options=["--cache", str(cache), "--stats", str(tmp_path / "s.json")])
    _same(run_native(built["tiny"]), run)
    assert run.stdout == b"338350\n"
    s = _stats(tmp_path / "s.json")
    assert s["tbs_translated"] <= 0.01 * (s["tbs_translated"] + s["tbs_from_cache"]), s
