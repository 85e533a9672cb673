"""Typer command-line apps (thin shells over the libraries)."""
