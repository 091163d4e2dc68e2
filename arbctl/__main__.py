"""`python -m arbctl`: how `arbctl up` starts the engine with the same interpreter."""

from arbctl.cli import main

main()
