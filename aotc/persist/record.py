"""The on-disk form of a TB record and its LMDB keys.

A block is found by its TB key (eip, mode, cs base: aotc.exec.tb.tb_key), its guest code is at the
linear address cs_base + eip (the eip itself for flat 32-bit code, mode 0 and cs base 0), and the
pages it spans are linear pages (TBRecord.pages).

Record key (table `tbs`): translator version (8) + blake2b-128 of the linear page the block starts in
(16) + its linear address (4, big endian) + for a block that reaches into the next page, the hash of
that page (16) + for a block that is not flat, its TBMode bits (1) and cs base (4, big endian): 28 or
44 bytes for a flat block, 33 or 49 for another (the length says which, and how many hashes). One prefix
scan over version+hash yields every TB of a page content, of every mode; the key names every page a
record spans with its hash, so a record can be rejected before it is decoded, and blocks that start
alike but reach into different contents of the next page are kept side by side, as are the same bytes
translated as 16-bit and as 32-bit code or in code segments at different bases.

A record is listed under every page it spans. Page key (table `pages`): version + hash of the page +
linear page number (4, big endian), whose value is when a record listing it was last written (for
eviction by age). Span key (table `spans`, empty value): the page key of a page after the first + the
record key, so that evicting that page finds the records reaching into it.

Value, little endian:
    magic "AOTC", format u16, translator version (8), pc u32 (eip), mode u8, cs_base u32, size u32,
    ninsns u32, npages u8, nexits u16, noffsets u32, code_len u32, guest_len u32,
    npages page hashes (16 each: the linear pages [cs_base+pc, cs_base+pc+size) spans, in order),
    nexits exits (slot u32, target pc u32, host offset u32),
    noffsets insn offsets (host offset u32, guest pc u32),
    host code, guest bytes, blake2b-128 checksum of everything before it.
A value of another format (format 1 had neither mode nor cs_base: flat blocks only) is rejected like a
damaged one, and the block is translated again. The host code is position independent (exits leave
through the CPU state and chaining is patched in at run time), so there are no relocations; a future
relocating backend bumps FORMAT.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from aotc.backend.hostcode import TBExit
from aotc.exec.tb import TBRecord
from aotc.persist.version import VERSION_SIZE

MAGIC = b"AOTC"
FORMAT = 2
HASH_SIZE = 16
PAGE_SIZE = 4096
_HEADER = struct.Struct("<4sH8sIBIIIBHIII")
_FORMAT = struct.Struct("<4sH")                # how every format's header starts: magic, format
_EXIT = struct.Struct("<III")
_OFFSET = struct.Struct("<II")
_PC = struct.Struct(">I")
_MODE = struct.Struct(">BI")                # mode, cs_base: the end of the key of a block not flat
_PC_AT = VERSION_SIZE + HASH_SIZE           # where a record key holds the linear address
_LATER_AT = _PC_AT + _PC.size               # and the hashes of the pages after the first


class CorruptRecord(Exception):
    """A stored value that is not a well-formed record with a valid checksum."""


@dataclass(frozen=True)
class StoredRecord:
    """A decoded record: the TB, the translator version and page hashes it was made under, its guest bytes."""

    record: TBRecord
    version: bytes
    page_hashes: tuple[bytes, ...]
    guest: bytes


def page_hash(contents: bytes) -> bytes:
    """The hash of one guest page's contents (fewer than 4096 bytes when not all executable)."""
    return hashlib.blake2b(contents, digest_size=HASH_SIZE).digest()


def page_prefix(version: bytes, phash: bytes) -> bytes:
    """The key prefix shared by every TB starting in a page with contents hash `phash`."""
    return version + phash


def linear_pc(pc: int, cs_base: int) -> int:
    """The linear address of eip `pc` in a code segment at `cs_base`."""
    return (cs_base + pc) & 0xFFFFFFFF


def record_key(version: bytes, page_hashes: tuple[bytes, ...], pc: int, mode: int = 0,
               cs_base: int = 0) -> bytes:
    """The key of the record at eip `pc` under `mode` at `cs_base` made from (linear) pages with these
    hashes (the first page's first)."""
    key = version + page_hashes[0] + _PC.pack(linear_pc(pc, cs_base)) + b"".join(page_hashes[1:])
    return key + _MODE.pack(mode, cs_base) if mode or cs_base else key


def key_pc(key: bytes) -> int:
    """The linear address a record key names (the eip of a flat block): its first page's."""
    return _PC.unpack_from(key, _PC_AT)[0]


def key_later_hashes(key: bytes) -> list[bytes]:
    """The hashes a record key names for the pages after its first, in order."""
    n = len(key)
    if n == _LATER_AT:
        return []
    end = n - (n - _LATER_AT) % HASH_SIZE       # before the mode and cs base of a block not flat
    return [key[at:at + HASH_SIZE] for at in range(_LATER_AT, end, HASH_SIZE)]


def page_key(version: bytes, phash: bytes, page: int) -> bytes:
    """The `pages` entry of linear page `page` with contents hash `phash`."""
    return version + phash + _PC.pack(page)


def key_page_keys(key: bytes) -> list[bytes]:
    """The page keys a record is listed under: its first page's, then those of the pages it reaches."""
    version, first = key[:VERSION_SIZE], key_pc(key) >> 12
    return [key[:_PC_AT] + _PC.pack(first)] + [page_key(version, h, first + i)
                                                for i, h in enumerate(key_later_hashes(key), 1)]


def page_key_parts(key: bytes) -> tuple[bytes, int]:
    """A page key as (the record key prefix of its page contents, the page number)."""
    return key[:_PC_AT], _PC.unpack_from(key, _PC_AT)[0]


def encode(stored: StoredRecord) -> bytes:
    """Serialize a record with its checksum."""
    r = stored.record
    parts = [_HEADER.pack(MAGIC, FORMAT, stored.version, r.pc, r.mode, r.cs_base, r.size, r.ninsns,
                          len(stored.page_hashes), len(r.exits), len(r.insn_offsets), len(r.code),
                          len(stored.guest)),
             *stored.page_hashes,
             *(_EXIT.pack(e.slot, e.pc, e.offset) for e in r.exits),
             *(_OFFSET.pack(off, pc) for off, pc in r.insn_offsets),
             r.code, stored.guest]
    body = b"".join(parts)
    return body + hashlib.blake2b(body, digest_size=HASH_SIZE).digest()


def decode(value: bytes) -> StoredRecord:
    """Parse and verify a stored value (CorruptRecord if its checksum or structure is wrong)."""
    value = bytes(value)
    body, checksum = value[:-HASH_SIZE], value[-HASH_SIZE:]
    if len(value) < _HEADER.size + HASH_SIZE or \
            hashlib.blake2b(body, digest_size=HASH_SIZE).digest() != checksum:
        raise CorruptRecord("checksum mismatch")
    if _FORMAT.unpack_from(body) != (MAGIC, FORMAT):
        raise CorruptRecord("unknown record format")
    try:
        (_magic, _fmt, version, pc, mode, cs_base, size, ninsns, npages, nexits, noffsets, code_len,
         guest_len) = _HEADER.unpack_from(body)
        pos = _HEADER.size
        hashes = tuple(body[pos + i * HASH_SIZE:pos + (i + 1) * HASH_SIZE] for i in range(npages))
        pos += npages * HASH_SIZE
        end = pos + nexits * _EXIT.size
        exits = tuple(TBExit(*e) for e in _EXIT.iter_unpack(body[pos:end]))
        pos, end = end, end + noffsets * _OFFSET.size
        offsets = tuple(_OFFSET.iter_unpack(body[pos:end]))
        pos = end
        code, guest = body[pos:pos + code_len], body[pos + code_len:pos + code_len + guest_len]
    except struct.error as e:
        raise CorruptRecord(str(e)) from e
    record = TBRecord(pc, size, ninsns, code, exits, offsets, mode, cs_base)
    if pos + code_len + guest_len != len(body) or len(hashes) != len(record.pages()):
        raise CorruptRecord("inconsistent lengths")
    return StoredRecord(record, version, hashes, guest)
