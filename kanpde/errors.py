"""User-facing errors: each is reported by the CLI as one line, without a traceback."""


class KanpdeError(Exception):
    """An error caused by the user's input (config, file, directory), printed as one line."""


class ConfigError(KanpdeError):
    """A config key has a bad value; the message starts with the dotted key."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(f"{key}: {message}")


def first_line(text: str) -> str:
    """The first non-blank line of ``text``, stripped ("" if none): what a one-line error shows."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
