"""``-v/--verbose`` of the training commands: gensim's log and the training loss of each epoch
(:func:`item2vec.training.gensim_engine.loss_callbacks`) on stderr, for the command only."""

from __future__ import annotations

import logging
import sys

import click

from item2vec.cli.base import F, is_quiet


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """With -v, gensim's log and item2vec's (the training loss per epoch) at INFO on stderr, for
    this command only."""
    if not value:
        return
    if is_quiet():
        raise click.UsageError("give -q/--quiet or -v/--verbose, not both", ctx)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(name) for name in ("gensim", "item2vec")]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.INFO)
        log.addHandler(handler)

    def restore() -> None:
        for log, level in zip(loggers, levels):
            log.removeHandler(handler)
            log.setLevel(level)

    ctx.call_on_close(restore)


def verbose_option(func: F) -> F:
    """``-v/--verbose``: gensim's log and the training loss per epoch on stderr (loss costs time)."""
    option = click.option(
        "-v", "--verbose", is_flag=True, expose_value=False, callback=_set_verbose,
        help="Show gensim's log and the training loss of each epoch on stderr (slower: the loss is computed).",
    )  # fmt: skip
    return option(func)
