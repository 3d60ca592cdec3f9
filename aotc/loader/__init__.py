"""The ELF loader: i386 programs (static, PIE, dynamically linked with their interpreter) into guest
memory, with the stack Linux would build."""

from aotc.loader.load import load_program, load_with_libraries
from aotc.loader.program import LoadedProgram, LoadError
from aotc.loader.sysroot import Sysroot

__all__ = ["LoadError", "LoadedProgram", "Sysroot", "load_program", "load_with_libraries"]
