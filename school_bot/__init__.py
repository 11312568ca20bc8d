"""The parents' bot of a city's Online School (README.md)."""
