"""Publishing: from processed tables to the briefs in ``reports/`` (catalogue, fingerprints, kernels, the pool,
the published record). Notebooks never import this package; see docs/building.md."""
