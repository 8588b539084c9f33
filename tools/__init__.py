"""Developer tools: run from the repository root, never shipped in the wheel or imported by it."""
