"""Run the command-line interface: ``python -m item2vec``."""

from item2vec.cli import main

if __name__ == "__main__":
    main()
