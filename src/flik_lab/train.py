"""`python -m flik_lab.train ...`: the same as `flik-lab train ...` (the library function: training.py)."""

from flik_lab.commands.train import main

if __name__ == "__main__":
    main()
