"""MapNames: file backings of guest ranges, cut by later mappings and unmaps as the kernel cuts VMAs."""

from __future__ import annotations

from aotc.linux.vmnames import Backing, MapNames

LIB = Backing("/lib/libx.so", 0, 1, 2)


def test_pieces_fill_gaps_with_anonymous() -> None:
    names = MapNames()
    names.note(0x2000, 0x3000, LIB)
    assert names.pieces(0x1000, 0x6000) == [
        (0x1000, 0x2000, None), (0x2000, 0x5000, LIB), (0x5000, 0x6000, None)]


def test_a_cut_keeps_both_ends_with_their_offsets() -> None:
    names = MapNames()
    names.note(0x10000, 0x5000, LIB)
    names.forget(0x11000, 0x2000)
    assert names.pieces(0x10000, 0x15000) == [
        (0x10000, 0x11000, LIB), (0x11000, 0x13000, None),
        (0x13000, 0x15000, Backing("/lib/libx.so", 0x3000, 1, 2))]
    assert names.at(0x13800) == (0x13000, Backing("/lib/libx.so", 0x3000, 1, 2))
    assert names.at(0x12000) is None


def test_note_replaces_what_was_there() -> None:
    names = MapNames()
    names.note(0x1000, 0x4000, LIB)
    other = Backing("/data", 0x8000, 3, 4, shared=True)
    names.note(0x2000, 0x1000, other)
    assert names.pieces(0x1000, 0x5000) == [
        (0x1000, 0x2000, LIB), (0x2000, 0x3000, other),
        (0x3000, 0x5000, Backing("/lib/libx.so", 0x2000, 1, 2))]
    names.forget(0, 0x10000)
    assert names.pieces(0x1000, 0x5000) == [(0x1000, 0x5000, None)]


def test_pieces_start_inside_a_range() -> None:
    names = MapNames()
    names.note(0x1000, 0x4000, LIB)
    assert names.pieces(0x3000, 0x4000) == [(0x3000, 0x4000, Backing("/lib/libx.so", 0x2000, 1, 2))]
