"""One module per `flik-lab` command; each one's `main()` is what `flik-lab <command>` runs (see cli.py)."""
