"""Corpus → vectors: config and presets, the gensim engine (and its memory estimate), the train
pipeline, graph walks, item features, resume/update/embed of saved models, and the Spark engine.

May import: ``item2vec.corpus``, ``item2vec.model`` and the ground floor.
"""
