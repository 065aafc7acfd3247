"""Bundled SNN programs: each module has ``build(**params) -> Network`` and ``check(result)``."""
