"""Errors carry fields, and each edge spells the parameters a message names in its own terms."""

from __future__ import annotations

import click
import pytest

from item2vec.api.errors import ItemNotFoundError, in_python_terms, python_terms
from item2vec.cli.base import cli_namer
from item2vec.errors import UNSET, ConfigError, Item2VecError, UnknownItemError, flag_name, param, spell


def test_an_error_made_from_fields_says_param_value_and_expected() -> None:
    exc = ConfigError(param="hybrid_weight", value=-1.0, expected="a number of 0 or more, e.g. 2")
    assert (exc.param, exc.value, exc.expected, exc.fix) == (
        "hybrid_weight",
        -1.0,
        "a number of 0 or more, e.g. 2",
        None,
    )
    assert str(exc) == "--hybrid-weight -1.0 is invalid: use a number of 0 or more, e.g. 2"
    assert python_terms(exc.raw) == "hybrid_weight=-1.0 is invalid: use a number of 0 or more, e.g. 2"


def test_fields_default_to_unset_and_the_message_is_kept() -> None:
    exc = ConfigError("nothing to say")
    assert exc.param is None and exc.value is UNSET and str(exc) == "nothing to say"


@pytest.mark.parametrize(
    ("marked", "cli", "python"),
    [
        (param("min_count", 2), "--min-count 2", "min_count=2"),
        (param("score", "next"), "--score 'next'", "score='next'"),
        (param("force", True), "--force", "force=True"),
        (param("drop_repeats", False), "--no-drop-repeats", "drop_repeats=False"),
        (param("user_col"), "--user-col", "user="),
    ],
)
def test_the_default_and_python_spellings(marked: str, cli: str, python: str) -> None:
    assert spell(f"use {marked}", flag_name) == f"use {cli}"
    assert python_terms(f"use {marked}") == f"use {python}"


def test_the_cli_spells_the_running_commands_own_flags() -> None:
    @click.command()
    @click.option("-k", "--k", "k", type=int)
    @click.option("--drop-repeats/--keep-repeats", default=True)
    @click.option("--force", is_flag=True)
    @click.option("--min-count", type=int)
    def command(**_: object) -> None:
        """A command."""

    namer = cli_namer(command)
    text = f"{param('k', 0)}; {param('drop_repeats', False)}; {param('force', True)}; {param('min_count', 3)}"
    assert spell(text, namer) == "-k 0; --keep-repeats; --force; --min-count 3"


def test_the_api_keeps_the_class_and_fields_and_makes_unknown_items_key_errors() -> None:
    @in_python_terms
    def bad() -> None:
        raise ConfigError(param="min_count", value=0, expected="a whole number >= 1")

    with pytest.raises(ConfigError) as caught:
        bad()
    assert (
        caught.value.param == "min_count"
        and str(caught.value) == "min_count=0 is invalid: use a whole number >= 1"
    )

    @in_python_terms
    def unknown() -> None:
        raise UnknownItemError(f"'x' is not in the model: see {param('k')}", param="items", value="x")

    with pytest.raises(KeyError) as missing:
        unknown()
    assert isinstance(missing.value, ItemNotFoundError) and isinstance(missing.value, Item2VecError)
    assert str(missing.value) == "'x' is not in the model: see k=" and missing.value.value == "x"


def test_check_choice_words_the_choices_and_sets_the_fields() -> None:
    from item2vec.errors import InputError, check_choice

    check_choice("context", "set", ("window", "set"), quoted=True)
    with pytest.raises(ConfigError) as quoted:
        check_choice("context", "bag", ("window", "set"), quoted=True)
    assert str(quoted.value) == "--context 'bag' is unknown: use 'window' or 'set'"
    assert (quoted.value.param, quoted.value.value, quoted.value.expected) == (
        "context",
        "bag",
        "'window' or 'set'",
    )
    with pytest.raises(InputError, match=r"^--dtype 'int8' is unknown: use one of float32, float16$"):
        check_choice("dtype", "int8", ("float32", "float16"), error=InputError)
    with pytest.raises(ConfigError, match=r"is unknown"):
        check_choice("kind", None, ("flat",))  # not a string: refused, never a TypeError
