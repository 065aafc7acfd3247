"""Chip and system descriptions: TOML presets, the validated :class:`ChipSpec` and
:class:`SystemSpec` (a grid of chips joined by chip-to-chip links)."""

from chipemu.chips.load import (format_chip_table, format_system_table, list_presets, list_systems,
                                load_chip, load_hardware)
from chipemu.chips.spec import ChipSpec, CoreSpec, MeshSpec, NocSpec, OpCosts
from chipemu.chips.system import BarrierSpec, GridSpec, LinkSpec, SystemSpec

#: what a ``--chip`` option resolves to: one chip or a system of chips
HardwareSpec = ChipSpec | SystemSpec

__all__ = [
    "BarrierSpec", "ChipSpec", "CoreSpec", "GridSpec", "HardwareSpec", "LinkSpec", "MeshSpec",
    "NocSpec", "OpCosts", "SystemSpec", "format_chip_table", "format_system_table", "list_presets",
    "list_systems", "load_chip", "load_hardware",
]
