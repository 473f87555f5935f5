"""`python -m tutor`: the same as the `backprop-tutor` command."""

from tutor.cli import main

main()
