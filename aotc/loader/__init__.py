"""The ELF loader: static i386 programs into guest memory, with the stack Linux would build."""

from aotc.loader.elf import load_program
from aotc.loader.program import LoadedProgram, LoadError

__all__ = ["LoadError", "LoadedProgram", "load_program"]
