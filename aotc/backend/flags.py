"""The backend's encoding of an IR flags value, and conversions to and from EFLAGS bits.

A flags value is what the host leaves after running the guest's own instruction at the same width:
`lahf; seto al; movzx eax, ax`, i.e. bits 8..15 = SF ZF 0 AF 0 PF 1 CF (AH) and bit 0 = OF. Restoring
it into host flags is `mov eax, f; add al, 0x7f; sahf` (0x01 + 0x7f overflows, 0x00 + 0x7f does not).
"""

from __future__ import annotations

CF, PF, AF, ZF, SF, OF = 0x1, 0x4, 0x10, 0x40, 0x80, 0x800
ARITH_EFLAGS = CF | PF | AF | ZF | SF | OF
AH_FLAGS = CF | PF | AF | ZF | SF   # the EFLAGS bits lahf/sahf move, at the same positions in AH
AH_FIXED = 0x02                     # lahf always reads bit 1 of EFLAGS as 1
OF_SHIFT = 11
RESTORE_BIAS = 0x7F                 # `add al, RESTORE_BIAS` sets OF exactly when al is 1


def eflags_from_cc(cc: int) -> int:
    """The EFLAGS arithmetic bits (CF PF AF ZF SF OF) held in flags value `cc`."""
    return ((cc >> 8) & AH_FLAGS) | ((cc & 1) << OF_SHIFT)


def cc_from_eflags(eflags: int) -> int:
    """The flags value holding the arithmetic bits of `eflags` (other bits ignored)."""
    return (((eflags & AH_FLAGS) | AH_FIXED) << 8) | ((eflags >> OF_SHIFT) & 1)
