"""The persistent translation cache: TB records in LMDB keyed by translator version and guest page hash."""
