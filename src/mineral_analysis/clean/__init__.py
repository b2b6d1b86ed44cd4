"""The cleaning stage: ``data/raw`` (curated records, the sources registry) in, ``data/processed`` out.

``pipeline`` runs it (``load_raw``, ``build_processed``); ``financing`` and ``membership`` clean one table each,
with ``cells`` (values parsed once, errors located), ``raw_schemas`` (pandera) and ``rawio`` (reading the CSVs);
``amounts``, ``countries``, ``normalize`` and ``sources`` read what the sources write; ``contract`` checks the
processed tables before they are written; ``new_release`` stores them as a release. Notebook-side code may
import ``countries`` and ``normalize`` (to resolve a brief's parameter) and ``sources`` (the registry).
"""
