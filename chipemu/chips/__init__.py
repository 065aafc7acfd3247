"""Chip descriptions: TOML presets and the validated, immutable :class:`ChipSpec`."""

from chipemu.chips.spec import (
    ChipSpec,
    CoreSpec,
    MeshSpec,
    NocSpec,
    OpCosts,
    format_chip_table,
    list_presets,
    load_chip,
)

__all__ = [
    "ChipSpec",
    "MeshSpec",
    "CoreSpec",
    "NocSpec",
    "OpCosts",
    "load_chip",
    "list_presets",
    "format_chip_table",
]
