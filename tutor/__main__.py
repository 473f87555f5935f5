"""`python -m tutor`: the same as the `backprop-tutor` command."""

from tutor.cli.app import main

main()
