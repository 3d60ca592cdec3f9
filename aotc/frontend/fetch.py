"""The frontend's one error that reaches the dispatcher: guest code that cannot even be fetched."""

from __future__ import annotations


class FetchError(Exception):
    """Not even the first instruction's bytes could be fetched."""

    def __init__(self, pc: int) -> None:
        super().__init__(f"cannot fetch guest code at {pc:#x}")
        self.pc = pc
