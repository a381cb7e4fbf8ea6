"""The package version, on the ground floor so every room can name it."""

__version__ = "0.1.0"
