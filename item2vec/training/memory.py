"""Will training fit in memory? Estimated before gensim allocates anything. And how much did it use?

gensim allocates the input vectors and the output weights (syn1neg) of every kept item, plus
about 500 bytes of vocabulary per item (its own ``estimate_memory``). ``--dim 2000000000``
would try to allocate hundreds of GiB and die in numpy or in the kernel's OOM killer; the
estimate refuses it first, naming the figures. The check is free for ordinary runs: items are
counted only when even "every token a new item" would not fit.

The peak a run reports (:func:`peak_rss_mb`) is the process's high-water mark read when it is
asked for: every stage and thread before it counts, so callers read it at the end.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

from item2vec.corpus.packed import Packed
from item2vec.errors import ConfigError, param
from item2vec.training.config import TrainConfig

__all__ = ["available_memory", "check_memory", "peak_rss_mb", "training_bytes"]
VOCAB_BYTES = 500  # per item, as gensim's Word2Vec.estimate_memory counts it
# A container's memory limit (cgroup v2, then v1); its usage counts page cache, so only the limit is used.
_CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def training_bytes(items: int, dim: int) -> int:
    """Bytes gensim allocates for ``items`` kept items of ``dim`` dimensions."""
    return items * (2 * 4 * dim + VOCAB_BYTES)


def check_memory(sequences: list[list[str]] | Packed, config: TrainConfig) -> None:
    """Refuse a run whose vectors, output weights and vocabulary cannot fit in memory.

    Raises:
        ConfigError: naming the estimate, the memory available and the options that lower it.
    """
    available = available_memory()
    if available is None:
        return
    if isinstance(sequences, Packed):
        bound = min(sequences.tokens, len(sequences.names))
    else:
        bound = sum(len(s) for s in sequences)
    if config.max_vocab is not None:
        bound = min(bound, config.max_vocab)
    if training_bytes(bound, config.dim) <= available:
        return
    items = _kept_items(sequences, config)
    need = training_bytes(items, config.dim)
    if need > available:
        raise ConfigError(
            f"{param('dim', config.dim)} needs about {_gib(need)} for {items:,} items (input and output "
            f"vectors of {config.dim:,} floats each), more than the {_gib(available)} of memory available: "
            f"lower {param('dim')} (64 to 300 is usual), or keep fewer items "
            f"({param('min_count')}, {param('max_vocab')})",
            param="dim",
            value=config.dim,
            expected="64 to 300 is usual",
            fix=f"keep fewer items ({param('min_count')}, {param('max_vocab')})",
        )


def _kept_items(sequences: list[list[str]] | Packed, config: TrainConfig) -> int:
    if isinstance(sequences, Packed):
        kept = int((sequences.counts() >= config.min_count).sum())
    else:
        counts = Counter(item for seq in sequences for item in seq)
        kept = sum(1 for n in counts.values() if n >= config.min_count)
    return min(kept, config.max_vocab) if config.max_vocab is not None else kept


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB (``ru_maxrss``: every thread, every stage
    so far; read it after the last stage). 0.0 where the platform cannot say."""
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


def available_memory() -> int | None:
    """Bytes of memory a new allocation can use: Linux's MemAvailable, capped by a cgroup's limit.

    None where neither is known (then nothing is refused).
    """
    found = [size for size in (_mem_available(),) if size is not None]
    for limit_file in _CGROUP_LIMITS:
        try:
            limit = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if limit.isdigit() and int(limit) < 1 << 60:  # "max", or v1's huge "no limit" value
            found.append(int(limit))
        break
    return min(found) if found else None


def _mem_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:  # not Linux: free physical pages
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gib(size: int) -> str:
    return f"{size / 2**30:,.1f} GiB"
