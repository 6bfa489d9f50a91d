"""What tests share: composed configs, flik-lab in a subprocess, data in the real on-disk formats."""
