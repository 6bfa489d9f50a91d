"""Where the Hydra configs live: `conf/` at the top of the (editable) checkout."""

from pathlib import Path

CONF_DIR = str(Path(__file__).resolve().parents[3] / "conf")
