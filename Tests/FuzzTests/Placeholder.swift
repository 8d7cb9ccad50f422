// FuzzTests: property-based inputs for the parser, cursors and tokens (see FrameFuzzTests.swift).
