"""Guest stack pushes and pops (memory first, then esp, so a faulting access leaves esp unchanged).

The stack is ss:esp: the stack's address size is ss's (32-bit), whatever 0x67 or the code segment say.
"""

from __future__ import annotations

from aotc.frontend.context import DisasContext
from aotc.frontend.operands import in_segment
from aotc.guest.cpu import ESP, SS
from aotc.ir.core import Value


def stack_addr(ctx: DisasContext, esp: Value) -> Value:
    """The linear address of stack offset `esp` (ss's base added, when it has one)."""
    return in_segment(ctx, SS, esp)


def push(ctx: DisasContext, v: Value, size: int = 4) -> None:
    """esp -= size; [esp] = v."""
    new = ctx.b.sub(ctx.ld_reg(ESP), size)
    ctx.b.st(v, stack_addr(ctx, new), size=size)
    ctx.st_reg(ESP, new)


def pop(ctx: DisasContext, size: int = 4) -> Value:
    """v = [esp]; esp += size; return v."""
    esp = ctx.ld_reg(ESP)
    v = ctx.b.ld(stack_addr(ctx, esp), size=size, signed=0)
    ctx.st_reg(ESP, ctx.b.add(esp, size))
    return v
