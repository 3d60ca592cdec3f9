"""Temps as hashable values, ops' names, and the builder's generated per-op methods."""

import pickle

from aotc.ir.core import Block, Builder, Label, Op, Temp
from aotc.ir.ops import OPS


def test_temps_equal_by_id_and_nothing_else() -> None:
    assert Temp(3) == Temp(3) and hash(Temp(3)) == hash(Temp(3))
    assert Temp(3) != Temp(4)
    assert Temp(3) != Label(3) and Label(3) != Temp(3)
    assert Temp(3) != 3 and 3 != Temp(3)
    assert not isinstance(Temp(3), int)
    assert len({Temp(1), Temp(1), Temp(2), 1}) == 3
    assert Temp(7).id == 7 and repr(Temp(7)) == "t7"
    assert pickle.loads(pickle.dumps(Temp(9))) == Temp(9)


def test_op_name_follows_its_def() -> None:
    op = Op(OPS["sub"], [Temp(0)], [Temp(1), 2])
    assert op.name == "sub" and op.args == {}
    assert op == Op(OPS["sub"], [Temp(0)], [Temp(1), 2])
    assert op != Op(OPS["add"], [Temp(0)], [Temp(1), 2])


def test_builder_has_a_method_per_op() -> None:
    block = Block(pc=0)
    b = Builder(block)
    assert all(callable(getattr(b, name)) for name in OPS)
    d = b.add(b.ld_state(off=0), 5)
    lo, hi, f = b.mul_cc(d, d, 0, w=32)
    assert b.st_state(d, off=4) is None
    assert [op.name for op in block.ops] == ["ld_state", "add", "mul_cc", "st_state"]
    assert (d, lo, hi, f) == (Temp(1), Temp(2), Temp(3), Temp(4)) and block.ntemps == 5
