"""The command line's parser class and the lazily resolved ``--mapper`` option.

The mapper registry (:mod:`mapper`) is imported only when a command that maps runs or
shows its help, so e.g. ``chipemu simulate`` does not load the mapper: ``--mapper``
parses to None (:func:`mapper_name` resolves the default), and the help of ``run`` and
``map`` fills in the default and the list of mappers when it is formatted
(:meth:`Parser.format_help`).
"""

from __future__ import annotations

import argparse

__all__ = ["Parser", "mapper_name"]


class Parser(argparse.ArgumentParser):
    """``argparse`` with one-line usage errors (exit 2) and, on the parsers whose
    :attr:`lists_mappers` is True, the mappers listed in the help."""

    #: True on the parsers of the commands that map (``run``, ``map``): their help lists
    #: the mappers and completes ``--mapper``'s help with the default
    lists_mappers = False

    def error(self, message):  # argparse's usage errors: one line, exit 2
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")

    def format_help(self):
        if self.lists_mappers:
            from mapper import DEFAULT_MAPPER, mapper_help

            self.epilog = "mappers:\n" + mapper_help()
            for action in self._actions:
                if action.dest == "mapper":
                    action.help = f"mapping strategy (default: {DEFAULT_MAPPER}); see 'mappers' below"
        return super().format_help()


def mapper_name(args) -> str:
    """``--mapper``, or the mapper registry's default when it was not given."""
    if args.mapper is not None:
        return args.mapper
    from mapper import DEFAULT_MAPPER
    return DEFAULT_MAPPER
