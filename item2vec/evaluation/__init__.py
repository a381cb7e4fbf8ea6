"""Is it any good: next-item metrics and ranking, baselines, word benchmarks (analogies,
similarity pairs), held-out data for ``evaluate``, and ``tune``.

May import: ``item2vec.query``, ``item2vec.training``, ``item2vec.export``, ``item2vec.corpus``,
``item2vec.model`` and the ground floor.
"""
