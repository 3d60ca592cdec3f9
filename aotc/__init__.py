"""aotc: a dynamic binary translator for i386 Linux programs with a persistent translation cache."""
