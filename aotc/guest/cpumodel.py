"""The CPU aotc shows the guest: cpuid's answers and the AT_HWCAP word, which must agree with each
other and with what the frontend translates, so that a program (or glibc's run-time selection of string
functions) never picks code aotc would refuse.

Offered: fpu, tsc, cx8, cmov, mmx, fxsr, sse, sse2 in leaf 1 edx; sse3 (pni) and ssse3 in leaf 1 ecx.
Nothing else: no clflush, no sse4, no avx, no xsave.
"""

from __future__ import annotations

from types import MappingProxyType

EDX_FEATURES = MappingProxyType({"fpu": 0, "tsc": 4, "cx8": 8, "cmov": 15, "mmx": 23, "fxsr": 24,
                                 "sse": 25, "sse2": 26})
ECX_FEATURES = MappingProxyType({"pni": 0, "ssse3": 9})
LEAF1_EDX = sum(1 << bit for bit in EDX_FEATURES.values())
LEAF1_ECX = sum(1 << bit for bit in ECX_FEATURES.values())
HWCAP = LEAF1_EDX                 # Linux's AT_HWCAP on x86 is leaf 1's edx

# leaf -> (eax, ebx, ecx, edx). Leaves not listed answer like the highest basic leaf (as Intel does)
CPUID_MAX_BASIC = 1
CPUID_LEAVES = MappingProxyType({
    0: (CPUID_MAX_BASIC, 0x756E6547, 0x6C65746E, 0x49656E69),       # "Genu" "ntel" "ineI"
    1: (0x000006FB, 0x00010800, LEAF1_ECX, LEAF1_EDX),              # family 6 model 15 (Core 2)
    0x80000000: (0x80000000, 0, 0, 0),
})
