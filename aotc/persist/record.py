"""The on-disk form of a TB record and its LMDB keys.

Record key (table `tbs`): translator version (8) + blake2b-128 of the guest page the block starts in
(16) + guest pc (4, big endian) + for a block that reaches into the next page, the hash of that page
(16): 28 or 44 bytes. One prefix scan over version+hash yields every TB of a page content; the key
names every page a record spans with its hash, so a record can be rejected before it is decoded, and
blocks that start alike but reach into different contents of the next page are kept side by side.

A record is listed under every page it spans. Page key (table `pages`): version + hash of the page +
page number (4, big endian), whose value is when a record listing it was last written (for eviction
by age). Span key (table `spans`, empty value): the page key of a page after the first + the record
key, so that evicting that page finds the records reaching into it.

Value, little endian:
    magic "AOTC", format u16, translator version (8), pc u32, size u32, ninsns u32,
    npages u8, nexits u16, noffsets u32, code_len u32, guest_len u32,
    npages page hashes (16 each: the pages [pc, pc+size) spans, in order),
    nexits exits (slot u32, target pc u32, host offset u32),
    noffsets insn offsets (host offset u32, guest pc u32),
    host code, guest bytes, blake2b-128 checksum of everything before it.
The host code is position independent (exits leave through the CPU state and chaining is patched in
at run time), so there are no relocations; a future relocating backend bumps FORMAT.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from aotc.backend.hostcode import TBExit
from aotc.exec.tb import TBRecord
from aotc.persist.version import VERSION_SIZE

MAGIC = b"AOTC"
FORMAT = 1
HASH_SIZE = 16
PAGE_SIZE = 4096
_HEADER = struct.Struct("<4sH8sIIIBHIII")
_EXIT = struct.Struct("<III")
_OFFSET = struct.Struct("<II")
_PC = struct.Struct(">I")
_PC_AT = VERSION_SIZE + HASH_SIZE           # where a record key holds the pc
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


def record_key(version: bytes, page_hashes: tuple[bytes, ...], pc: int) -> bytes:
    """The key of the record at `pc` made from pages with these hashes (the first page's first)."""
    return version + page_hashes[0] + _PC.pack(pc) + b"".join(page_hashes[1:])


def key_pc(key: bytes) -> int:
    """The guest pc a record key names."""
    return _PC.unpack_from(key, _PC_AT)[0]


def key_later_hashes(key: bytes) -> list[bytes]:
    """The hashes a record key names for the pages after its first, in order."""
    if len(key) == _LATER_AT:
        return []
    return [key[at:at + HASH_SIZE] for at in range(_LATER_AT, len(key), HASH_SIZE)]


def page_key(version: bytes, phash: bytes, page: int) -> bytes:
    """The `pages` entry of guest page `page` with contents hash `phash`."""
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
    parts = [_HEADER.pack(MAGIC, FORMAT, stored.version, r.pc, r.size, r.ninsns, len(stored.page_hashes),
                          len(r.exits), len(r.insn_offsets), len(r.code), len(stored.guest)),
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
    try:
        (magic, fmt, version, pc, size, ninsns, npages, nexits, noffsets, code_len,
         guest_len) = _HEADER.unpack_from(body)
        if magic != MAGIC or fmt != FORMAT:
            raise CorruptRecord("unknown record format")
        pos = _HEADER.size
        hashes = tuple(body[pos + i * HASH_SIZE:pos + (i + 1) * HASH_SIZE] for i in range(npages))
        pos += npages * HASH_SIZE
        exits = tuple(TBExit(*_EXIT.unpack_from(body, pos + i * _EXIT.size)) for i in range(nexits))
        pos += nexits * _EXIT.size
        offsets = tuple(_OFFSET.unpack_from(body, pos + i * _OFFSET.size) for i in range(noffsets))
        pos += noffsets * _OFFSET.size
        code, guest = body[pos:pos + code_len], body[pos + code_len:pos + code_len + guest_len]
    except struct.error as e:
        raise CorruptRecord(str(e)) from e
    record = TBRecord(pc, size, ninsns, code, exits, offsets)
    if pos + code_len + guest_len != len(body) or len(hashes) != len(record.pages()):
        raise CorruptRecord("inconsistent lengths")
    return StoredRecord(record, version, hashes, guest)
