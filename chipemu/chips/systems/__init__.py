"""System presets: grids of chips joined by chip-to-chip links (TOML)."""
