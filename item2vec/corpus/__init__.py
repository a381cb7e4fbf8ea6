"""Logs → sessions → packed corpus: read event tables, sessionize, pack, split.

``events`` reads tables and text (ids stay strings; ``text`` decodes bytes: UTF-8 only, gzip
damage named; ``jsonl`` streams JSON Lines and JSON arrays), ``options`` holds the session options
and time parsing everything here shares, ``ingest`` streams events into integer codes,
``sequences`` sessionizes them, ``packed`` is the corpus itself, ``split`` writes held-out
files, ``tables`` writes result tables, ``items`` reads item names, ``frames`` reads tables
already in memory (pandas, pyarrow) as ``events`` reads files.

May import: the ground floor only (``item2vec.errors``, ``files``, ``extras``, ``render``, ``version``).
"""
