"""The rollup batch circuit and the constants it shares with the operator."""
