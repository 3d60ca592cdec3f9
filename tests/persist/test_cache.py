"""End-to-end tests of the persistent translation cache: cold and warm runs, `aotc warm`, changed and
shared code, damaged cache files, concurrent runs. Every run uses its own `--cache` directory."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
from pathlib import Path

import lmdb
import pytest
from conftest import REPO, aotc_command, guest_env, run_native

HERE = Path(__file__).resolve().parent
WARNING = b"aotc: warning:"


def build(out: Path, source: Path, *defines: str) -> Path:
    subprocess.run(["gcc", "-m32", "-static", "-O2", *defines, "-o", str(out), str(source)], check=True)
    return out


@pytest.fixture(scope="session")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """hello, and magic.c built three ways: a, b (another immediate) and c (another string)."""
    d = tmp_path_factory.mktemp("guests")
    return {
        "hello": build(d / "hello", REPO / "examples" / "hello.c"),
        "a": build(d / "a", HERE / "magic.c"),
        "b": build(d / "b", HERE / "magic.c", "-DMAGIC=2000"),
        "c": build(d / "c", HERE / "magic.c", '-DGREETING="omega"'),
    }


def aotc(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = guest_env({"PYTHONPATH": str(REPO)})
    return subprocess.run([*aotc_command(), *args], capture_output=True, env=env, timeout=timeout,
                          cwd=HERE.parent.parent / "build")


def run(program: Path, cache: Path | None, tmp: Path, *options: str) -> tuple[bytes, bytes, dict]:
    """Run under aotc with --stats; (stdout, stderr, stats). The run must succeed."""
    stats = tmp / f"stats-{len(list(tmp.glob('stats-*')))}.json"
    where = ["--no-cache"] if cache is None else ["--cache", str(cache)]
    proc = aotc("run", *where, "--stats", str(stats), *options, str(program))
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout, proc.stderr, json.loads(stats.read_text())


def native(program: Path) -> bytes:
    result = run_native(program)
    assert result.returncode == 0
    return result.stdout


def translated_pcs(log: Path) -> list[int]:
    """The guest pc of every block a `-d in_asm` log shows translated."""
    return [int(m, 16) for m in re.findall(r"^IN:\n(0x[0-9a-f]+):", log.read_text(), re.M)]


def differing_pages(x: Path, y: Path) -> set[int]:
    """File pages (offset >> 12) where two same-sized builds differ."""
    bx, by = x.read_bytes(), y.read_bytes()
    assert len(bx) == len(by), "the two builds must have the same layout"
    return {i >> 12 for i in range(len(bx)) if bx[i] != by[i]}


def page_of_offset_map(program: Path) -> dict[int, int]:
    """File page -> guest page for the PT_LOAD segments of `program`."""
    from elftools.elf.elffile import ELFFile

    out = {}
    with open(program, "rb") as f:
        for seg in ELFFile(f).iter_segments():
            if seg["p_type"] == "PT_LOAD":
                for off in range(seg["p_offset"] & ~0xFFF, seg["p_offset"] + seg["p_filesz"], 0x1000):
                    out[off >> 12] = (seg["p_vaddr"] - seg["p_offset"] + off) >> 12
    return out


def changed_guest_pages(x: Path, y: Path) -> set[int]:
    pages = page_of_offset_map(x)
    return {pages[p] for p in differing_pages(x, y) if p in pages}


def test_second_run_translates_nothing(programs: dict[str, Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    out1, err1, cold = run(programs["hello"], cache, tmp_path)
    out2, err2, warm = run(programs["hello"], cache, tmp_path)
    assert out1 == out2 == native(programs["hello"])
    assert cold["tbs_translated"] > 100 and cold["tbs_from_cache"] == 0
    assert warm["tbs_translated"] == 0
    assert warm["tbs_from_cache"] >= cold["tbs_translated"]
    assert WARNING not in err1 + err2


def test_no_cache_writes_nothing(programs: dict[str, Path], tmp_path: Path) -> None:
    _, _, first = run(programs["a"], None, tmp_path)
    _, _, second = run(programs["a"], None, tmp_path)
    assert first["tbs_translated"] == second["tbs_translated"] > 0
    assert second["tbs_from_cache"] == 0


def test_warm_then_run_translates_few_blocks(programs: dict[str, Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _, _, cold = run(programs["a"], None, tmp_path)
    proc = aotc("warm", "--cache", str(cache), str(programs["a"]))
    assert proc.returncode == 0, proc.stderr.decode()
    blocks = int(re.search(rb"(\d+) blocks", proc.stdout).group(1))
    assert blocks > cold["tbs_translated"]
    out, _, after = run(programs["a"], cache, tmp_path)
    assert out == native(programs["a"])
    assert after["tbs_translated"] <= 0.05 * cold["tbs_translated"]


@pytest.mark.parametrize("second", ["b", "c"])
def test_changed_pages_retranslated_unchanged_pages_hit(programs: dict[str, Path], tmp_path: Path,
                                                       second: str) -> None:
    """b: the same layout with another immediate in magic(); c: the same code, other read-only data."""
    cache = tmp_path / "cache"
    run(programs["a"], cache, tmp_path)
    log = tmp_path / "in_asm.log"
    out, _, stats = run(programs[second], cache, tmp_path, "-d", "in_asm", "-D", str(log))
    assert out == native(programs[second]) != native(programs["a"])
    changed = changed_guest_pages(programs["a"], programs[second])
    assert changed
    assert stats["tbs_from_cache"] > 0
    pcs = translated_pcs(log)
    assert len(pcs) == stats["tbs_translated"]
    assert {pc >> 12 for pc in pcs} <= changed
    if second == "b":
        assert pcs, "the changed function's page must be translated again"


def data_file(cache: Path) -> Path:
    return cache / "tb.lmdb" / "data.mdb"


def scribble(path: Path) -> None:
    rng = random.Random(5)
    data = bytearray(path.read_bytes())
    for _ in range(len(data) // 512):
        at = rng.randrange(len(data) - 64)
        data[at:at + 64] = rng.randbytes(64)
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 3)


def wrong_format(path: Path) -> None:
    path.write_bytes(b"this is not an LMDB file\n" * 1000)


def bad_checksum(path: Path) -> None:
    env = lmdb.open(str(path.parent), max_dbs=3)
    tbs = env.open_db(b"tbs")
    with env.begin(write=True, db=tbs) as txn:
        for key, value in list(txn.cursor())[::7]:
            damaged = bytearray(value)
            damaged[len(damaged) // 2] ^= 0x01
            txn.put(key, bytes(damaged))
    env.close()


@pytest.mark.parametrize("damage", [scribble, truncate, wrong_format, bad_checksum])
def test_damaged_cache_warns_once_and_rebuilds(programs: dict[str, Path], tmp_path: Path, damage) -> None:
    cache = tmp_path / "cache"
    expected = native(programs["hello"])
    _, _, cold = run(programs["hello"], cache, tmp_path)
    damage(data_file(cache))
    out, err, hurt = run(programs["hello"], cache, tmp_path)
    assert out == expected
    assert err.count(WARNING) == 1, err.decode()
    assert hurt["tbs_translated"] > 0
    if damage is bad_checksum:
        assert hurt["tbs_discarded"] > 0
    out, err, healed = run(programs["hello"], cache, tmp_path)
    assert out == expected
    assert WARNING not in err
    assert healed["tbs_translated"] == 0


def test_concurrent_runs_on_a_fresh_cache(programs: dict[str, Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = guest_env({"PYTHONPATH": str(REPO)})
    argv = [*aotc_command(), "run", "--cache", str(cache), str(programs["hello"])]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
             for _ in range(3)]
    results = [p.communicate(timeout=600) for p in procs]
    expected = native(programs["hello"])
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0 and out == expected and WARNING not in err, err.decode()
    _, _, after = run(programs["hello"], cache, tmp_path)
    assert after["tbs_translated"] == 0


def test_cache_stats_inspect_and_clear(programs: dict[str, Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _, _, cold = run(programs["a"], cache, tmp_path)
    stats = aotc("cache", "stats", "--cache", str(cache)).stdout.decode()
    assert f"records: {cold['tbs_translated']}" in stats
    listing = aotc("inspect", "--cache", str(cache), str(programs["a"])).stdout.decode()
    assert f"{cold['tbs_translated']} blocks" in listing
    from elftools.elf.elffile import ELFFile

    with open(programs["a"], "rb") as f:
        magic = ELFFile(f).get_section_by_name(".symtab").get_symbol_by_name("magic")[0]["st_value"]
    detail = aotc("inspect", "--cache", str(cache), "--pc", hex(magic), str(programs["a"]))
    assert detail.returncode == 0, detail.stderr.decode()
    text = detail.stdout.decode()
    assert "0x3e8" in text.split("OP after optimization:")[0]     # MAGIC=1000 in the guest code
    assert "OP after optimization:" in text and "OUT: [size=" in text and "ret" in text
    assert aotc("cache", "clear", "--cache", str(cache)).returncode == 0
    assert "records: 0" in aotc("cache", "stats", "--cache", str(cache)).stdout.decode()
