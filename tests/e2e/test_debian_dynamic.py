"""Debian's dynamically linked i386 programs through a Debian sysroot: each workload gives the same stdout,
stderr, exit status and files under `aotc run -L SYSROOT` as natively.

The sysroot (build/debian/sysroot, assembled by tools/debian_sysroot.py from bookworm's i386 packages:
libc6 and every library the programs need) has its own etc/ld.so.cache, so neither run ever loads one of
the host's /usr/lib32 libraries. Natively the sysroot's ld.so runs the program with --library-path (the
host's kernel knows nothing of sysroots); under aotc the program's PT_INTERP /lib/ld-linux.so.2, the
ld.so.cache and every library are found under -L. The module's runs share one translation cache (per
pytest-xdist worker), so ld.so's and libc's blocks are translated once and found by every later program,
as on one machine.

A workload is a few steps run one after the other in one directory (natively in one, under aotc in
another: a round trip decompresses what aotc compressed), with real input: compression round trips
checked against Python's own decompressors, sed, grep and gawk scripts over generated text, SQL, Lua,
jq and bc computing, floating point included, and coreutils. Left out until aotc has fork/exec and
threads (issues 14, 15): sort's and xz's worker threads (--parallel=1 and -T1 keep them single-threaded)
and anything that runs another program (gawk's `|` and system(), sort --compress-program, the bzgrep
and xzdiff scripts). ld.so run as the program, and its --list, need neither.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import random
import shutil
import stat
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import RunResult, guest_env, run_aotc, run_native

OLD = 1234567890  # the mtime of every input file: an output file that keeps it was given it by the program
WORDS = ("the quick brown fox jumps over lazy dog alpha beta gamma delta epsilon zeta eta theta iota kappa "
         "lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega quartz sphinx vow judge").split()


def _text(lines: int, seed: int) -> str:
    """Deterministic text: words, integers and floats in a few shapes, one record per line."""
    rng = random.Random(seed)
    out = []
    for i in range(lines):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 9)))
        shape = i % 4
        if shape == 0:
            out.append(f"{words} {rng.randint(0, 99999)}")
        elif shape == 1:
            out.append(f"{rng.uniform(-1e6, 1e6):.6f} {words}")
        elif shape == 2:
            out.append(f"{words.capitalize()}, {rng.random():.3e}; id={i:05d}")
        else:
            out.append(f"{rng.randint(-500, 500)}\t{words}\t{rng.expovariate(0.01):.4g}")
    return "\n".join(out) + "\n"


TEXT = _text(4000, 13)  # about 180 KB
SMALL = _text(60, 7)
BINARY = bytes(random.Random(5).randrange(256) if i % 3 else i % 256 for i in range(60000))
CSV = "".join(f"{i},{WORDS[i % len(WORDS)]},{(i * 7919) % 1000 / 8},{i % 7}\n" for i in range(1, 801))
JSON = ("[" + ",".join(f'{{"id":{i},"name":"{WORDS[i % len(WORDS)]}","score":{(i * 37 % 101) / 7},'
                       f'"tags":["t{i % 3}","t{i % 5}"],"ok":{"true" if i % 2 else "false"}}}'
                       for i in range(300)) + "]\n")
FILES = {"data.txt": TEXT, "small.txt": SMALL, "bin.dat": BINARY, "data.csv": CSV, "data.json": JSON}


@dataclass(frozen=True)
class Step:
    """One run of a sysroot program: its command line, stdin and the exit status it has natively."""

    program: str  # under usr/bin
    args: tuple[str, ...]
    stdin: bytes = b""
    status: int = 0


def step(program: str, *args: str, stdin: str | bytes = b"", status: int = 0) -> Step:
    """A Step from its command line."""
    return Step(program, args, stdin.encode() if isinstance(stdin, str) else stdin, status)


@dataclass(frozen=True)
class Work:
    """Steps run in one directory holding FILES (and `files`), then a check of the files aotc left."""

    steps: tuple[Step, ...]
    files: dict[str, str | bytes] = field(default_factory=dict)
    check: Callable[[Path], None] | None = None


def work(*steps: Step, files: dict[str, str | bytes] | None = None,
         check: Callable[[Path], None] | None = None) -> Work:
    """A Work from its steps."""
    return Work(steps, files or {}, check)


def _decompresses(name: str, opener: Callable[[bytes], bytes],
                  original: str | bytes) -> Callable[[Path], None]:
    """A check that file `name` of aotc's directory decompresses, by Python, to `original`."""
    want = original.encode() if isinstance(original, str) else original

    def check(directory: Path) -> None:
        got = opener((directory / name).read_bytes())
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(want).hexdigest(), name

    return check


def _checks(*checks: Callable[[Path], None]) -> Callable[[Path], None]:
    def check(directory: Path) -> None:
        for one in checks:
            one(directory)
    return check


GAWK_STATS = r"""
{ for (i = 1; i <= NF; i++) if ($i ~ /^[a-z]+$/) count[$i]++; else if ($i + 0 == $i) { sum += $i; n++ } }
/^-?[0-9]+\.[0-9]+ / { fsum += $1; if ($1 > fmax || NR == 2) fmax = $1 }
END {
    PROCINFO["sorted_in"] = "@val_num_desc"
    k = 0; for (w in count) { if (k++ < 8) printf "%-8s %5d\n", w, count[w] }
    printf "numbers %d sum %.6f mean %.10g\n", n, sum, sum / n
    printf "floats %.17g max %.3f sqrt %.15g exp %.15g log %.15g\n",
        fsum, fmax, sqrt(fmax), exp(-fmax / 1e6), log(fmax)
    printf "trig %.15g %.15g %.15g %a\n", sin(1), cos(2), atan2(-1, -2), 0.1
    s = sprintf("%d|%5.2f|%-6s|%x|%o|%c|%e|%G", 255, 3.14159, "ab", 255, 8, 65, 12345.678, 1e-10)
    print s; print length(s), toupper(substr(s, 1, 12)), index(s, "ab")
    print gensub(/([0-9]+)\.([0-9]+)/, "<\\2.\\1>", "g", "12.34 and 5.6"), strtonum("0x1F"), strtonum("017")
    print and(0xF0F0, 0xFF00), or(1, 6), xor(5, 3), lshift(1, 40), rshift(0xFFFFFFFFFFFF, 20), (compl(0) > 0)
    n = split("a1b22c333d", parts, /[0-9]+/, seps); print n, parts[1] parts[4], seps[3]
    m = asort(count, sorted); print m, sorted[1], sorted[m]
    print strftime("%Y-%m-%d %H:%M:%S %j %a", 1234567890, 1), mktime("2001 02 03 04 05 06")
    if (match("foo=bar42", /([a-z]+)=([a-z]+)([0-9]+)/, mm)) print mm[1], mm[2], mm[3], RSTART, RLENGTH
    printf "%s\n", "to stderr" > "/dev/stderr"
    print NR, FNR, NF > "summary.txt"; close("summary.txt")
    while ((getline line < "summary.txt") > 0) print "read back:", line
    srand(42); printf "%.6f %.6f\n", rand(), rand()
    x = 1e308 * 10; print x, -x, int(-3.9), int(3.9), 7 % -3, -7 % 3, 2 ** 0.5, 1 / 3
}
"""
GAWK_MPFR = (
    'BEGIN { printf "%.60f\\n", atan2(0, -1); print 2 ^ 200, 3 ^ 100 % 1000007;'
    " f = 1; for (i = 1; i <= 40; i++) f *= i; print f; printf \"%.40e\\n\", exp(1); print sqrt(2) }"
)
GAWK_FIELDS = (
    'BEGIN { FS = ","; OFS = "|" } $4 == 3 { $3 = sprintf("%.2f", $3 * 1.1); print; t += $3 }'
    ' END { printf "total %.4f rows %d\\n", t, NR }'
)
SED_EDIT = r"""
s/\([a-z]\+\) \([0-9]\+\)$/\2=\1/
y/abcxyz/ABCXYZ/
/^-\?[0-9]*\.[0-9]*/{ s/\./,/; s/^/F:/ }
/omega/d
3,/sphinx/ s/the/THE/g
$a\
-- end --
"""
BC_SCRIPT = """scale=50
sqrt(2)
4*a(1)
e(1)
l(10)
s(1) + c(1)
define f(n) { if (n < 2) return 1; return n * f(n - 1); }
f(60)
2^512 % 1000000007
x = 1/7; x * 7
scale = 20; obase = 16; 255^7; obase = 10
ibase = 2; 101010; ibase = A
for (i = 0; i < 5; i++) { t += i^3 }; t
1 / 0
9 / 3
"""
LUA_SCRIPT = r"""
local t = {}
for i = 1, 2000 do t[i] = (i * 7919) % 2003 + i / 1000 end
table.sort(t, function(a, b) return a > b end)
print(#t, t[1], t[2000], string.format("%.17g %.3e %g %a", t[1000], 1/3, 2^0.5, 0.1))
print(math.sqrt(2), math.sin(1), math.cos(2), math.exp(1), math.log(10), math.atan(1, 2), math.pi)
print(math.floor(-3.5), math.ceil(-3.5), math.fmod(-7, 3), -7 % 3, -7 // 2, 7.5 // 2, math.huge, -math.huge)
print(math.maxinteger, math.mininteger, math.maxinteger + 1 == math.mininteger, 1 << 62, -1 >> 60, 5 ~ 3)
print(6 * 7, 2^53 + 1, math.tointeger(3.0), 10 // 3, 10.0 / 4, 3 | 4,
      string.format("%d %x %5.1f", 255, 255, -2.25))
local words, n = {}, 0
for line in io.lines("small.txt") do
  for w in line:gmatch("%a+") do words[w] = (words[w] or 0) + 1; n = n + 1 end
end
local keys = {}
for k in pairs(words) do keys[#keys + 1] = k end
table.sort(keys, function(a, b) return words[a] > words[b] or (words[a] == words[b] and a < b) end)
for i = 1, 5 do io.write(keys[i], "=", words[keys[i]], " ") end print(n)
print(("hello world"):gsub("o", "0"), ("abc"):rep(3, "-"), ("%d items"):format(3),
      ("x=1, y=2"):match("y=(%d)"))
local co = coroutine.wrap(function(a) for i = 1, 3 do a = coroutine.yield(a * i) end return "done" end)
print(co(2), co(3), co(4), co(5))
print(pcall(error, {code = 42}), select(2, pcall(error, "boom", 0)), select("#", 1, nil, 3))
local packed = string.pack("<i4 d z", -2, 1.5, "str")
print(#packed, string.unpack("<i4 d z", packed), utf8.char(72, 228, 8364), utf8.len("häh"))
print(os.date("!%Y-%m-%d %H:%M:%S", 1234567890), os.time({year = 2001, month = 2, day = 3, hour = 4}))
local f = assert(io.open("lua-out.txt", "w")) f:write(string.format("%.10f\n", math.pi)) f:close()
local fib = {}
local function F(k) if k < 3 then return 1 end fib[k] = fib[k] or F(k - 1) + F(k - 2) return fib[k] end
print(F(90), 0.1 + 0.2 == 0.3, 0.1 + 0.2, tostring(1e100), 1e15, 123456789012345678)
io.stderr:write("lua says goodbye\n")
os.exit(3)
"""
SQL_SCRIPT = """
CREATE TABLE t(id INTEGER PRIMARY KEY, word TEXT, x REAL, k INTEGER);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000)
  INSERT INTO t
  SELECT i, printf('w%04d', (i * 7919) % 5003), (i * 2654435761 % 1000003) / 997.0, i % 17 FROM c;
CREATE INDEX t_k ON t(k, x);
SELECT count(*), sum(x), avg(x), min(word), max(word), total(k) FROM t;
SELECT k, count(*), printf('%.6f', avg(x)), printf('%.3e', sum(x * x)), group_concat(id % 10, '') FROM t
  WHERE id < 400 GROUP BY k ORDER BY k LIMIT 6;
SELECT id, word, round(x, 3), rank() OVER (PARTITION BY k ORDER BY x DESC) AS r FROM t
  WHERE k = 3 ORDER BY r LIMIT 5;
SELECT json_object('n', count(*), 'mean', avg(x)), json_group_array(id) FROM t WHERE id % 1000 = 0;
SELECT strftime('%Y-%m-%d %H:%M:%S', 1234567890, 'unixepoch'), julianday('2001-02-03'),
  date('2024-02-28', '+2 days');
SELECT 1e308 * 10, -0.0, 0.1 + 0.2, 7 / 2, 7 % 3, 7.0 / 2, abs(-9223372036854775807), hex(zeroblob(2)),
  typeof(1.0);
SELECT upper('abc'), substr('hello', 2, 3), replace('aXbXc', 'X', '--'), instr('needle', 'dl'),
  length(x'00ff');
CREATE TABLE u AS SELECT k, sum(x) AS s FROM t GROUP BY k;
UPDATE t SET x = -x WHERE id % 100 = 0;
DELETE FROM t WHERE id > 4900;
SELECT count(*), printf('%.4f', sum(x)) FROM t JOIN u USING (k) WHERE u.s > 700;
.mode csv
.headers on
SELECT k, s FROM u ORDER BY s DESC LIMIT 3;
.mode line
SELECT max(id) AS top, sqlite_version() AS v FROM t;
"""
JQ_FILTER = (
    '[.[] | select(.ok) | {id, s: (.score * 1.5), n: (.name | ascii_upcase), t: (.tags | join("+"))}]'
    " | (map(.s) | add / length) as $mean | {mean: $mean, top: (sort_by(-.s) | .[:3]),"
    " groups: (group_by(.t) | map({t: .[0].t, c: length})), sq: ([.[].s] | map(sqrt | floor) | unique)}"
)
DATE_FMT = "+%Y-%m-%d %H:%M:%S %z %A %j %s"

WORKS: dict[str, Work] = {
    "gzip": work(
        step("gzip", "-9", "-k", "data.txt"),
        step("gzip", "-d", "-c", "data.txt.gz"),
        step("gzip", "-1", "-c", "-n", stdin=BINARY),
        step("gzip", "copy.txt"),  # replaces copy.txt by copy.txt.gz, with its mode and mtime
        step("gzip", "-d", "copy.txt.gz"),
        step("gzip", "-d", "small.txt", status=2),
        files={"copy.txt": SMALL * 20},
        check=_decompresses("data.txt.gz", gzip.decompress, TEXT),
    ),
    "bzip2": work(
        step("bzip2", "-9", "-k", "data.txt"),
        step("bzcat", "data.txt.bz2"),
        step("bzip2", "-1", "-c", stdin=BINARY),
        step("bzip2", "-k", "bin.dat"),
        step("bzip2", "-d", "-c", "small.txt", status=2),
        check=_checks(_decompresses("data.txt.bz2", bz2.decompress, TEXT),
                      _decompresses("bin.dat.bz2", bz2.decompress, BINARY)),
    ),
    "xz": work(
        step("xz", "-T1", "-6", "-k", "data.txt"),
        step("xz", "-d", "-c", "data.txt.xz"),
        step("xz", "-T1", "-c", "-e", "-2", "--check=sha256", stdin=BINARY),
        step("xz", "-T1", "-k", "--format=lzma", "bin.dat"),
        step("xz", "-d", "small.txt", status=1),
        check=_checks(_decompresses("data.txt.xz", lzma.decompress, TEXT),
                      _decompresses("bin.dat.lzma", lzma.decompress, BINARY)),
    ),
    "sed": work(
        step("sed", "-f", "edit.sed", "data.txt"),
        step("sed", "-E", "-n", r"s/^([A-Z][a-z]+), ([0-9.e+-]+);.*id=0*([0-9]+)$/\3 \2 \1/p", "data.txt"),
        step("sed", "-n", "1!G;h;$p", "small.txt"),  # tac through the hold space
        step("sed", "-i.orig", "-e", "s/[0-9]/#/g", "-e", "/alpha/!d", "copy.txt"),
        step("diff", "-u", "--label=a", "--label=b", "copy.txt.orig", "copy.txt", status=1),
        step("sed", "p", "missing.txt", status=2),
        files={"edit.sed": SED_EDIT, "copy.txt": SMALL},
    ),
    "grep": work(
        step("grep", "-n", "-E", "^[a-z]+( [a-z]+){3} [0-9]{4,5}$", "data.txt"),
        step("grep", "-o", "-i", "-w", "qu[a-z]*", "small.txt"),
        step("grep", "-P", "-o", r"(?<=id=)0*[1-9]\d{2}\b|\b\d\.\d{3}e-0[2-3]\b", "data.txt"),
        step("grep", "-r", "-l", "--include=*.txt", "omega", "."),
        step("grep", "x", "missing.txt", status=2),
    ),
    "gawk": work(
        step("gawk", "-f", "stats.awk", "data.txt"),
        step("gawk", "-M", "-v", "PREC=256", GAWK_MPFR),
        step("gawk", GAWK_FIELDS, "data.csv"),
        step("gawk", "BEGIN { print 1 +* 2 }", status=1),
        files={"stats.awk": GAWK_STATS},
    ),
    "bc": work(step("bc", "-l", "-q", stdin=BC_SCRIPT), step("bc", "-q", "prog.bc", stdin="3 * r\n"),
               files={"prog.bc": "r = 2^100; r\nscale = 30; sqrt(r) / 3\n"}),
    "lua": work(step("lua5.4", "script.lua", status=3), files={"script.lua": LUA_SCRIPT}),
    "sqlite3": work(
        step("sqlite3", "test.db", stdin=SQL_SCRIPT),
        step("sqlite3", "-json", "test.db",
             "SELECT k, count(*) AS n, min(x) AS lo FROM t GROUP BY k LIMIT 4"),
        step("sqlite3", "-batch", "test.db",
             stdin="CREATE TABLE c(n, w, x REAL, k);\n.import --csv data.csv c\n"
             "SELECT count(*), sum(x), max(w) FROM c;\n"
             "PRAGMA integrity_check;\n.tables\n"),
        step("sqlite3", ":memory:", stdin="SELECT * FROM nowhere;\n", status=1),
    ),
    "coreutils-text": work(
        step("sort", "--parallel=1", "-t", "\t", "-k", "3,3g", "-k", "1,1n", "data.txt"),
        step("sort", "--parallel=1", "-S", "64k", "-T", ".", "-n", "data.txt"),  # merges temporary files
        step("wc", "data.txt", "small.txt", "bin.dat"),
        step("tr", "-s", "a-z", "A-Z", stdin=SMALL),
        step("cut", "-d", ",", "-f", "2,4", "--output-delimiter=:", "data.csv"),
        step("od", "-A", "x", "-t", "x1z", "-N", "96", "bin.dat"),
        step("split", "-l", "700", "-d", "data.txt", "part-"),
    ),
    "coreutils-numbers": work(
        step("seq", "-f", "%.3e", "0", "0.37", "5"),
        step("factor", "1234567890123456789", "18446744073709551617",
             "170141183460469231731687303715884105727", "4294967297"),
        step("printf", "%.20Lg %a %e %'d %5.1f%%|%-6s|%b\\n", "1.1", "0.1", "6.02e23", "1234567", "99.95",
             "ab", "x\\ty"),
        step("expr", "12345678", "*", "87654321", "%", "1000003"),
        step("date", "-u", "-d", "2009-02-13 23:31:30 +3 days", DATE_FMT),
        step("md5sum", "data.txt", "bin.dat"),
        step("sha512sum", "bin.dat"),
        step("base64", "-w", "76", "bin.dat"),
        step("sha256sum", "--check", "sums", status=1),
        files={"sums": f"{hashlib.sha256(SMALL.encode()).hexdigest()}  small.txt\n{'0' * 64}  data.csv\n"},
    ),
    "coreutils-files": work(
        step("cp", "-p", "data.txt", "copy.txt"),
        step("mkdir", "-p", "sub/dir"),
        step("mv", "copy.txt", "sub/dir/moved.txt"),
        step("ln", "-s", "../data.txt", "sub/link"),
        step("chmod", "640", "sub/dir/moved.txt"),
        step("truncate", "-s", "12345", "sub/stamp"),
        step("touch", "-d", "2001-02-03 04:05:06", "sub/stamp"),
        step("dd", "if=bin.dat", "of=sub/piece", "bs=1000", "skip=3", "count=7", "status=none"),
        step("stat", "-c", "%n %s %a %F %Y", "sub/stamp", "sub/dir/moved.txt"),
        step("stat", "-c", "%n %F %N", "sub/link"),
        step("ls", "-lnR", "--time-style=+", "sub"),  # no times: the directories are new
        step("cmp", "bin.dat", "sub/piece", status=1),
        step("rm", "-r", "sub/dir"),
    ),
    "jq": work(
        step("jq", "-S", JQ_FILTER, "data.json"),
        step("jq", "-c", "-n", "--arg", "x", "5", "[($x | tonumber) * 1.1, (1e300 * 1e300), pow(2; 0.5),"
             " (2 | log), (10 | log10), (\"hi\" | @base64), ([3,1,2] | sort), (now | type)]"),
        step("jq", ".[", "data.json", status=3),
    ),
}


def sysroot_paths(root: Path) -> str:
    """The --library-path for running the sysroot's ld.so natively."""
    return f"{root}/lib/i386-linux-gnu:{root}/usr/lib/i386-linux-gnu"


def native_command(root: Path, program: Path, args: tuple[str, ...]) -> tuple[Path, list[str]]:
    """The sysroot's ld.so, told where the sysroot's libraries are, running `program`."""
    return root / "lib" / "ld-linux.so.2", ["--library-path", sysroot_paths(root), str(program), *args]


def tree(directory: Path, since: float) -> dict[str, tuple]:
    """What a directory holds: per relative path its kind, permission bits and content (a symlink's
    target), and its mtime when older than `since` (a file the program gave an old timestamp)."""
    out: dict[str, tuple] = {}
    for path in sorted(directory.rglob("*")):
        info = path.lstat()
        mtime = int(info.st_mtime) if info.st_mtime < since else "new"
        if path.is_symlink():
            out[str(path.relative_to(directory))] = ("link", os.readlink(path))
        elif path.is_dir():
            out[str(path.relative_to(directory))] = ("dir", stat.S_IMODE(info.st_mode), mtime)
        else:
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            out[str(path.relative_to(directory))] = ("file", stat.S_IMODE(info.st_mode), mtime, len(data),
                                                     digest)
    return out


def text(data: bytes) -> str:
    """Output as text, for pytest's line diffs."""
    return data.decode("utf-8", "backslashreplace")


def assert_same(what: str, native: RunResult, aotc: RunResult) -> None:
    """The exit status, stderr and stdout of aotc's run are the native run's."""
    assert (aotc.returncode, text(aotc.stderr)) == (native.returncode, text(native.stderr)), what
    assert text(aotc.stdout) == text(native.stdout), what


@pytest.fixture(scope="module")
def translation_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One translation cache for the module's runs (in each pytest-xdist worker): the first program
    translates ld.so's and libc's blocks, the others find them."""
    return tmp_path_factory.mktemp("debian-dynamic-cache")


def _prepare(directory: Path, files: dict[str, str | bytes]) -> None:
    directory.mkdir()
    for name, content in {**FILES, **files}.items():
        path = directory / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        os.utime(path, (OLD, OLD))
    home = directory.parent / "home"
    home.mkdir(exist_ok=True)


def run_work(root: Path, cache: Path, job: Work, tmp_path: Path) -> None:
    """Run each step natively and under aotc, each in its own directory, and compare as they go."""
    since = time.time() - 1
    native_dir, aotc_dir = tmp_path / "native", tmp_path / "aotc"
    _prepare(native_dir, job.files)
    _prepare(aotc_dir, job.files)
    env = guest_env({"TZ": "UTC", "HOME": str(tmp_path / "home")})
    options = ["-L", str(root), "--cache", str(cache)]
    for number, one in enumerate(job.steps):
        program = root / "usr" / "bin" / one.program
        what = f"step {number}: {one.program} {' '.join(one.args)}"
        ld_so, args = native_command(root, program, one.args)
        native = run_native(ld_so, args, env=env, cwd=native_dir, stdin=one.stdin)
        assert native.returncode == one.status, f"natively, {what}: {native}"  # the step is what it claims
        aotc = run_aotc(program, one.args, options=options, env=env, cwd=aotc_dir, stdin=one.stdin)
        assert_same(what, native, aotc)
    assert tree(aotc_dir, since) == tree(native_dir, since)
    if job.check:
        job.check(aotc_dir)


def test_sysroot_is_merged_usr_with_its_own_ld_so_cache(debian_sysroot: Path) -> None:
    """/bin, /sbin and /lib are symlinks into usr/ (Debian's merged /usr), PT_INTERP resolves, and the
    sysroot's ld.so.cache lists only the sysroot's own i386 libraries, by their paths inside it."""
    root = debian_sysroot
    assert all(os.readlink(root / top) == f"usr/{top}" for top in ("bin", "sbin", "lib"))
    assert (root / "lib" / "ld-linux.so.2").resolve().is_file()
    listing = subprocess.run([shutil.which("ldconfig") or "/sbin/ldconfig", "-p", "-C",
                              str(root / "etc" / "ld.so.cache")], capture_output=True, text=True, check=True)
    entries = [line.strip().split(" => ") for line in listing.stdout.splitlines() if " => " in line]
    wanted = {"libc.so.6 (libc6)", "libsqlite3.so.0 (libc6)", "libpcre2-8.so.0 (libc6)"}
    assert wanted <= {name for name, _ in entries}
    for _, path in entries:
        assert path.startswith(("/lib/", "/usr/lib/"))
        assert (root / path.lstrip("/")).exists(), path


@pytest.mark.parametrize("name", WORKS)
def test_program(debian_sysroot: Path, translation_cache: Path, tmp_path: Path, name: str) -> None:
    """Each step of the workload gives what it gives natively, and leaves the same files."""
    run_work(debian_sysroot, translation_cache, WORKS[name], tmp_path)


def test_sysroot_from_qemu_ld_prefix(debian_sysroot: Path, translation_cache: Path, tmp_path: Path) -> None:
    """QEMU_LD_PREFIX names the sysroot as -L does (a qemu-user set-up carries over)."""
    root = debian_sysroot
    native_dir, aotc_dir = tmp_path / "native", tmp_path / "aotc"
    _prepare(native_dir, {})
    _prepare(aotc_dir, {})
    for one in (step("bzip2", "-k", "data.txt"), step("bzip2", "-d", "-c", "data.txt.bz2")):
        program = root / "usr" / "bin" / one.program
        ld_so, args = native_command(root, program, one.args)
        native = run_native(ld_so, args, env=guest_env({"TZ": "UTC"}), cwd=native_dir)
        assert native.returncode == 0, native
        env = guest_env({"TZ": "UTC", "QEMU_LD_PREFIX": str(root)})
        aotc = run_aotc(program, one.args, options=["--cache", str(translation_cache)], env=env, cwd=aotc_dir)
        assert_same(one.program, native, aotc)
    assert (aotc_dir / "data.txt.bz2").read_bytes() == (native_dir / "data.txt.bz2").read_bytes()


@pytest.mark.parametrize("library_path", [True, False], ids=["library-path", "ld.so.cache"])
def test_ld_so_run_as_the_program(debian_sysroot: Path, translation_cache: Path, tmp_path: Path,
                                  library_path: bool) -> None:
    """The sysroot's ld.so run as the program loads bc as natively: told where the libraries are, or
    (under aotc) finding them through the sysroot's own ld.so.cache."""
    root = debian_sysroot
    bc = root / "usr" / "bin" / "bc"
    ld_so, args = native_command(root, bc, ("-l", "-q"))
    native = run_native(ld_so, args, cwd=tmp_path, stdin=BC_SCRIPT.encode())
    assert native.returncode == 0 and native.stdout.startswith(b"1.41421356237309504880"), native
    guest_args = args if library_path else [str(bc), "-l", "-q"]
    aotc = run_aotc(ld_so, guest_args, options=["-L", str(root), "--cache", str(translation_cache)],
                    cwd=tmp_path, stdin=BC_SCRIPT.encode())
    assert_same("ld.so bc", native, aotc)


def _libraries(listing: bytes) -> list[tuple[str, str]]:
    """`ld.so --list` lines as (name, path), without the load addresses each run chooses and without
    the vDSO (aotc gives none, by design)."""
    out = []
    for line in listing.decode().splitlines():
        name, _, where = line.strip().partition(" => ")
        if not name.startswith("linux-gate"):
            out.append((name.split(" (")[0], where.split(" (")[0]))
    return out


def test_ld_so_list(debian_sysroot: Path, translation_cache: Path, tmp_path: Path) -> None:
    """`ld.so --list` (which prints and exits, no fork) names the same libraries as natively; without
    --library-path under aotc it finds each in the sysroot's ld.so.cache, never the host's /usr/lib32."""
    root = debian_sysroot
    sqlite3 = root / "usr" / "bin" / "sqlite3"
    ld_so, args = native_command(root, sqlite3, ())
    native = run_native(ld_so, ["--library-path", sysroot_paths(root), "--list", str(sqlite3)], cwd=tmp_path)
    assert native.returncode == 0 and b"libsqlite3.so.0" in native.stdout, native
    options = ["-L", str(root), "--cache", str(translation_cache)]
    aotc = run_aotc(ld_so, ["--library-path", sysroot_paths(root), "--list", str(sqlite3)], options=options,
                    cwd=tmp_path)
    assert aotc.returncode == 0 and _libraries(aotc.stdout) == _libraries(native.stdout), aotc
    cached = run_aotc(ld_so, ["--list", str(sqlite3)], options=options, cwd=tmp_path)
    assert cached.returncode == 0, cached
    names = [(name, f"{root}{path}") for name, path in _libraries(cached.stdout)]
    assert [name for name, _ in names] == [name for name, _ in _libraries(native.stdout)]
    for name, path in names[:-1]:  # the last is ld.so itself, named by its PT_INTERP path
        assert Path(path).resolve() == (root / "lib" / "i386-linux-gnu" / name).resolve(), (name, path)



OWN_GUESTS = ("algos", "printf_fmt", "fp_printf", "strings", "textproc")


@pytest.mark.parametrize("name", OWN_GUESTS)
def test_own_dynamic_guest_through_the_sysroot(debian_sysroot: Path, translation_cache: Path,
                                               guest_bins: dict[str, Path], tmp_path: Path,
                                               name: str) -> None:
    """The project's own guests, built as dynamic PIEs against the host's libraries, run with -L on the
    sysroot's ld.so and libc as they run natively through that ld.so."""
    binary = guest_bins[f"{name}-dyn-O2"]
    stdin = _text(300, 5).encode() if name == "textproc" else b""
    ld_so, native_args = native_command(debian_sysroot, binary, ())
    native = run_native(ld_so, native_args, env=guest_env(), cwd=tmp_path, stdin=stdin)
    aotc = run_aotc(binary, options=["-L", str(debian_sysroot), "--cache", str(translation_cache)],
                    env=guest_env(), cwd=tmp_path, stdin=stdin)
    assert native.stdout
    assert_same(name, native, aotc)
