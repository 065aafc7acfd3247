"""Error types raised on bad user input.

Every error a user can cause (a malformed file, an out-of-range parameter, a network
that does not fit the chip) is a :class:`ChipemuError`.  Its message is one line that
names the object, the parameter or resource, the bad value and what is allowed; the
command line prints it as ``error: <message>`` and exits with status 2.
"""


class ChipemuError(ValueError):
    """Base class of every user-facing error (bad input, not a bug)."""


class NetworkError(ChipemuError):
    """An invalid network description: a parameter, index, weight or delay out of range."""


class FileFormatError(ChipemuError):
    """A network, spike or mapping file that is malformed: missing key, wrong shape, bad value."""


class ChipSpecError(ChipemuError):
    """An invalid chip description (TOML): unknown or missing key, value out of range."""


class FitError(ChipemuError):
    """A network that does not fit on the chip under some per-core or chip-wide limit."""
