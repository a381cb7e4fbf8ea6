"""Vectors into other tools: word2vec text/binary, npy, Parquet, TSV/projector (``formats``),
the options they share (``options``), torch and safetensors (``tensors``).

May import: ``item2vec.corpus``, ``item2vec.model`` and the ground floor.
"""
