"""Answering at scale: exact top-k, ANN indexes and their recall check, recommendations
from histories, user vectors, and the HTTP service.

May import: ``item2vec.training``, ``item2vec.export``, ``item2vec.corpus``, ``item2vec.model``
and the ground floor.
"""
