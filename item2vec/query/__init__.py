"""Answering at scale: the score modes (``scoring``), exact top-k, ANN indexes and their
recall check, recommendations from one history (``recommend``) or every user of a log
(``histories``, ``batch``), user vectors, and the HTTP service.

May import: ``item2vec.training``, ``item2vec.export``, ``item2vec.corpus``, ``item2vec.model``
and the ground floor.
"""
