"""The terminal face: Typer commands, one module per step; parse, call the package, render."""
