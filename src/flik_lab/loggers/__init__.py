"""Lightning loggers adapted to flik-lab's run directories."""
