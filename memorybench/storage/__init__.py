"""Storage: atomic run folders, the results store and its links and lock, provenance. No torch."""
