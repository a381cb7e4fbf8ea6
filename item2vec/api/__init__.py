"""The public Python API: ``item2vec.train``, ``item2vec.load`` and the ``Model`` they return.

``train`` takes what the command line reads — event tables (pandas, pyarrow), sequences of item
ids, or paths of files — sessionizes them with the CLI's rules and trains in memory; a ``Model``
answers similar, analogy, recommend and evaluate, makes user vectors, saves a model directory the
CLI reads, and hands its vectors to gensim, pandas and PyTorch. Errors name parameters as Python
spells them (``min_count``, not ``--min-count``). ``item2vec/__init__.py`` exposes it lazily.

May import: every core room (``item2vec.visual``, ``evaluation``, ``query``, ``training``,
``export``, ``corpus``, ``model``) and the ground floor; never ``item2vec.cli``.
"""
