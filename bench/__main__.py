"""``python -m bench``: the whole benchmark in one command (bench/suite.py)."""

from bench.suite import main

main()
