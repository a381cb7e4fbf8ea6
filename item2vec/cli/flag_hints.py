"""Hints for flags spelled as other tools spell them: ``train --vector-size 100`` is a usage
error that names our flag (``--vector-size is gensim's name: use --dim``), not click's "No such
option". The names are :mod:`item2vec.training.config`'s tables, which the Python API reads too.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from item2vec.training.config import GENSIM_NAMES, OTHER_TOOL_NAMES


def other_tool_hint(args: Sequence[str], flags: Mapping[str, str], own: Collection[str]) -> str | None:
    """The first of a command's ``args`` that is another tool's name for one of its ``flags``
    (parameter name → long flag; ``own``: every option string it takes), as a hint.

    gensim's names (``--vector-size``, ``--size``, ``--iter``), fastText's and word2vec's
    (``-epoch``, ``-minCount``, ``-threads``) and ours written their way (``-dim``,
    ``--min_count``): ``"--vector-size is gensim's name: use --dim"``. None when there is none.
    """
    for arg in args:
        if arg == "--":
            break
        written = arg.split("=", 1)[0]
        if written[:1] != "-" or written in own:
            continue
        name = written.lstrip("-")
        key = name.replace("-", "_")
        if key in GENSIM_NAMES and GENSIM_NAMES[key] in flags:
            return f"{written} is gensim's name: use {flags[GENSIM_NAMES[key]]}"
        if name in OTHER_TOOL_NAMES and OTHER_TOOL_NAMES[name][0] in flags:
            ours, tool = OTHER_TOOL_NAMES[name]
            return f"{written} is {tool}'s name: use {flags[ours]}"
        flag = f"--{key.replace('_', '-')}"
        if flag in own:
            return f"{written} is spelled {flag} here"
    return None
