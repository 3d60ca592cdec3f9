"""Guest stack pushes and pops (memory first, then esp, so a faulting access leaves esp unchanged)."""

from __future__ import annotations

from aotc.frontend.context import DisasContext
from aotc.guest.cpu import ESP
from aotc.ir.core import Value


def push(ctx: DisasContext, v: Value, size: int = 4) -> None:
    """esp -= size; [esp] = v."""
    new = ctx.b.sub(ctx.ld_reg(ESP), size)
    ctx.b.st(v, new, size=size)
    ctx.st_reg(ESP, new)


def pop(ctx: DisasContext, size: int = 4) -> Value:
    """v = [esp]; esp += size; return v."""
    esp = ctx.ld_reg(ESP)
    v = ctx.b.ld(esp, size=size, signed=0)
    ctx.st_reg(ESP, ctx.b.add(esp, size))
    return v
