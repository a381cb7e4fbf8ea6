"""The saved model and what it answers: ``Embeddings`` (vectors, counts, names, metadata),
the model directory (``store``: safe files only, written atomically; ``checks``: what loading
refuses), and the ``info`` record.

May import: the ground floor only (``item2vec.errors``, ``files``, ``extras``, ``render``, ``version``).
"""
