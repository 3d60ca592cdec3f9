"""Debian's static i386 busybox and bash: each case gives the same stdout, stderr and exit status under aotc
as natively.

The binaries come from the busybox-static and bash-static packages (tools/debian_i386.py unpacks them
into build/debian/). Most cases use floating point: busybox's awk, printf, seq and sort -g compute in
doubles with x87 code (Debian's i386 baseline) and parse and format them with glibc's strtod and printf
(whose string functions use SSE2/SSSE3). Debian builds busybox's awk without libm, so sqrt, exp, log,
sin, atan2 and `^` answer "Math support is not compiled in" there (one case checks that answer).

Left out until aotc has fork/exec (issue 14): pipelines, command substitution, subshells and external
commands run from the shells.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import RunResult, guest_env, run_aotc, run_native

FLOATS = "3.5\n-2\n1e3\ninf\n0x10\nnan\n-inf\n0.001\n2.5e-3\n1E+2\n10\n-0\n1.5e-300\n7\n"
PRICES = "apple 1.25 3\npear 0.4 10\nfig 12.5 1\nkiwi 0.333 7\nplum 3e-1 4\n"
TEXT = "the quick brown fox\njumps  over   the\nlazy dog\n\ntoo  good to be true, sooo good\n"
FILES = {"floats.txt": FLOATS, "prices.txt": PRICES, "text.txt": TEXT}


@dataclass(frozen=True)
class Case:
    """One command line, its stdin, extra environment and the exit status it has natively."""

    args: tuple[str, ...]
    stdin: str = ""
    status: int = 0
    env: dict[str, str] = field(default_factory=dict)


def case(*args: str, stdin: str = "", status: int = 0, env: dict[str, str] | None = None) -> Case:
    """A Case from its command line."""
    return Case(args, stdin, status, env or {})


AWK_MATH = (
    "BEGIN { x = 1 / 3; print x, 2 / 3 * 3, 0.1 * 3, int(-3.7), int(3.7), 10 % 3.5, -7 % 3;"
    ' printf "%f %e %g %.10f %E %G\\n", x, 12345.678, 0.0001234, x, 6.02e23, 1e-10;'
    " print 1e300 * 1e300, -1e300 * 1e300, (1e300 * 1e300) - (1e300 * 1e300), -0.0, 1e15 + 0.3;"
    ' printf "%d %d %d %.10f\\n", 1e300 * 1e300, 123456789012, -2.5, 1e15 + 0.3 }'
)
AWK_FORMATS = (
    'BEGIN { printf "%d %i %o %x %X %c|%5.2f|%-12.3e|%+g|%08.3f|%G\\n",'
    " 42.9, -42.9, 8, 255, 255, 65, 3.14159, 1234.5, 0.5, -3.14159, 1e-10;"
    ' printf "%.0f %.0f %.0f %.2f %.15g %.17g %.3e %g %g\\n",'
    " 0.5, 1.5, 2.5, 2.675, 0.1, 0.1, 9.9995, 100000, 1000000 }"
)
AWK_CONVERSIONS = (
    'BEGIN { print "3.5abc" + 0, "1e3" + 0, " 12 " + 0, ".5" + 0, "-0" + 0, "+7e-2" + 0, "0x1A" + 0;'
    ' OFMT = "%.2f"; print 3.14159, 17; CONVFMT = "%.3g"; x = 3.14159 ""; print x;'
    " y = 0.1 + 0.2; print (y == 0.3), (y - 0.3 > 0), 1 / 7, (10 < 9), (\"10\" < \"9\") }"
)
AWK_RAND = (
    'BEGIN { srand(42); for (i = 0; i < 4; i++) printf "%.6f\\n", rand();'
    " print srand(7); srand(1); print int(rand() * 1000); srand(42); print rand() }"
)
AWK_TABLE = (
    "{ total += $2 * $3; n += $3; if ($2 > max) { max = $2; top = $1 }"
    ' printf "%-6s %8.3f %s\\n", toupper(substr($1, 1, 3)), $2 * $3, sprintf("%05.1f", $2) }'
    ' END { printf "total %.4f mean %.6g max %s %g over %d\\n", total, total / n, top, max, NR }'
)
AWK_STRTOD = '{ v = $1 + 0; printf "%s -> %g %.3e %d %d\\n", $1, v, v, (v > 1), v }'
SH_LOOP = (
    'i=0; s=""; while [ $i -lt 5 ]; do s="$s$i,"; i=$((i + 1)); done; echo "$s";'
    ' for x in a b c; do printf "%s=%.2f\\n" "$x" 2.345; done;'
    ' f() { echo "f:$1:$#"; return 4; }; f one two; echo "rc=$?";'
    ' case "$s" in 0,1*) echo match;; *) echo no;; esac; exit 3'
)

BUSYBOX = {
    "awk-math": case("awk", AWK_MATH),
    "awk-formats": case("awk", AWK_FORMATS),
    "awk-conversions": case("awk", AWK_CONVERSIONS),
    "awk-rand": case("awk", AWK_RAND),
    "awk-table": case("awk", AWK_TABLE, "prices.txt"),
    "awk-stdin": case("awk", AWK_STRTOD, stdin=FLOATS),
    "awk-no-libm": case("awk", "BEGIN { print sqrt(2) }", status=1),
    "printf": case("printf", "%f %e %g\\n", "3.14159", "2.5e-10", "1e100"),
    "printf-widths": case(
        "printf", "%.3f|%10.4e|%-10g|%G|%.10f|%d %x %o\\n", "2.0005", "123456", "0.00001", "1e-20",
        "0.1", "255", "255", "255",
    ),
    "printf-bad-number": case("printf", "%f\\n", "abc", status=1),
    "seq-tenths": case("seq", "0", "0.1", "2"),
    "seq-width": case("seq", "-w", "1", "0.5", "10"),
    "seq-down": case("seq", "-s", ",", "10", "-1.5", "1"),
    "sort-g": case("sort", "-g", "floats.txt"),
    "sort-gr-stdin": case("sort", "-g", "-r", stdin=FLOATS),
    "dc-precision": case("dc", "-e", "20 k 2 v p 1 3 / p 355 113 / p 10k 1 7 / p _3 2 ^ p 5 3 % p"),
    "dc-error": case("dc", "-e", "2 0.5 ^ p", status=1),
    "expr": case("expr", "7", "*", "6", "+", "1"),
    "expr-string": case("expr", "substr", "abcdef", "2", "3"),
    "expr-divide-by-zero": case("expr", "1", "/", "0", status=2),
    "sh-loop": case("sh", "-c", SH_LOOP, status=3),
    "sed": case("sed", "-e", "s/o/0/g", "-e", "2d", "-e", "/^$/i\\\nempty:", "text.txt"),
    "tr": case("tr", "a-z", "A-Z", stdin=TEXT),
    "tr-squeeze": case("tr", "-s", "o ", stdin=TEXT),
    "wc": case("wc", "text.txt", "floats.txt"),
    "wc-stdin": case("wc", "-l", "-w", stdin=TEXT),
    "md5sum": case("md5sum", "text.txt", "floats.txt"),
}

BASH_BRIEF = 'printf "%f\\n" 1.5; echo $((3*7)); for i in 1 2 3; do echo $i; done'
BASH_MORE = (
    'printf "%.3f %e %g %a %5.1f|\\n" 2.5 1e-5 1e20 0.1 -0.25; x=abc; echo ${x^^} ${#x};'
    " declare -a a=(3 1 2); echo ${a[@]} ${#a[@]} ${a[-1]}; echo $(( 2**20 )) $(( -7 / 2 )) $(( -7 % 2 ));"
    ' printf -v v "%05.1f" 3.14159; echo "$v"; read -r p q <<< "x y"; echo "$q$p";'
    " case abc in a*) echo match;; esac; exit 7"
)

BASH = {
    # --norc keeps these cases apart from any ~/.bashrc; without it, bash -c reads none as long as
    # getpeername(0) says stdin is no socket (ENOTSOCK), which test_bash_reads_no_rc checks
    "brief": case("--norc", "-c", BASH_BRIEF),
    "builtins": case("--norc", "-c", BASH_MORE, status=7),
    "utf8-locale": case("--norc", "-c", "x=héllo; echo ${#x} ${x^^}", env={"LC_ALL": "C.UTF-8"}),
}


def run_both(binary: Path, invocation: Case, cwd: Path, env: dict[str, str] | None = None) -> None:
    """Run `binary` natively and under aotc in `cwd`; assert the same exit status, stdout and stderr."""
    for name, text in FILES.items():
        (cwd / name).write_text(text)
    env = guest_env({**invocation.env, **(env or {})})
    stdin = invocation.stdin.encode()
    native = run_native(binary, invocation.args, env=env, cwd=cwd, stdin=stdin)
    assert native.returncode == invocation.status, f"natively: {native}"  # the case is what it claims
    aotc = run_aotc(binary, invocation.args, env=env, cwd=cwd, stdin=stdin)
    assert_same(native, aotc)


def text(data: bytes) -> str:
    """Output as text, for pytest's line diffs."""
    return data.decode("utf-8", "backslashreplace")


def assert_same(native: RunResult, aotc: RunResult) -> None:
    """The exit status, stdout and stderr of aotc's run are the native run's."""
    assert (aotc.returncode, text(aotc.stderr)) == (native.returncode, text(native.stderr))
    assert text(aotc.stdout) == text(native.stdout)


@pytest.fixture(scope="module")
def busybox(debian_package: Callable[[str], Path]) -> Path:
    """busybox from Debian's busybox-static."""
    return debian_package("busybox-static") / "bin" / "busybox"


@pytest.fixture(scope="module")
def bash(debian_package: Callable[[str], Path]) -> Path:
    """bash from Debian's bash-static."""
    return debian_package("bash-static") / "bin" / "bash-static"


@pytest.mark.parametrize("name", BUSYBOX)
def test_busybox_applet(busybox: Path, tmp_path: Path, name: str) -> None:
    """`busybox APPLET ...` runs under aotc as natively."""
    run_both(busybox, BUSYBOX[name], tmp_path)


@pytest.mark.parametrize("name", BASH)
def test_bash(bash: Path, tmp_path: Path, name: str) -> None:
    """`bash --norc -c ...` without fork runs under aotc as natively."""
    run_both(bash, BASH[name], tmp_path)


def test_bash_reads_no_rc(bash: Path, tmp_path: Path) -> None:
    """bash -c with stdin a pipe reads no ~/.bashrc: getpeername(0) must fail with ENOTSOCK, not ENOSYS."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text('echo "~/.bashrc was read" >&2\n')
    run_both(bash, case("-c", "echo hi"), tmp_path, env={"HOME": str(home)})
