# flik-lab: `make train` then `make test` on a fresh machine with nothing but Python 3.10+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
ARGS   ?=
# pytest-xdist workers for make test: one per core here, each on one thread (tests/conftest.py)
TEST_WORKERS ?= 2
# a package index to take torch and torchvision from first, e.g. the CPU-only wheels (no CUDA, no Triton):
#   make install TORCH_INDEX=https://download.pytorch.org/whl/cpu
# empty: PyPI's, which on Linux bring CUDA along
TORCH_INDEX ?=
# pyproject.toml's, so that installing flik-lab afterwards keeps them (tests/test_extras.py)
TORCH_PINS  := 'torch>=2.6,<=2.14.1' 'torchvision>=0.21,<=0.29.1'

.PHONY: install train test test-fast test-gpu lint format bench latent-demo clean help

help:
	@echo "make train [ARGS='key=value ...']  train the default experiment (creates $(VENV) if missing)"
	@echo "make test                          run the whole test suite (gpu tests skip without CUDA)"
	@echo "make test-fast                     without the tests marked slow or multiprocess"
	@echo "make install [TORCH_INDEX=https://download.pytorch.org/whl/cpu]  CPU-only torch from that index"
	@echo "make lint | format | bench | latent-demo | clean"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(if $(TORCH_INDEX),$(BIN)/python -m pip install --quiet $(TORCH_PINS) --index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet --editable '.[dev]'
	touch $(STAMP)

install: $(STAMP)

train: install
	$(BIN)/flik-lab train $(ARGS)

# loadscope: a module's tests share one worker, so module fixtures (trained runs) are built once
test: install
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope --durations=30

test-fast: install
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) -m "not slow and not multiprocess"

# on a CUDA machine: trainer=gpu for the GAN and a text model, in-memory data on the GPU
test-gpu: install
	$(BIN)/python -m pytest -q -m gpu

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

format: install
	$(BIN)/ruff check --fix src tests bench scripts
	$(BIN)/ruff format src tests bench scripts

bench: install
	$(BIN)/python bench/gan_throughput.py

# interpolation grid + GIF and "7 - 1 + 0" on the newest GAN run's last checkpoint (runs are named by start time)
latent-demo: install
	@ckpt=$$(for run in $$(ls -d outputs/train/runs/*/ 2>/dev/null | sort -r); do \
	  grep -qs "_target_: flik_lab.models.gan.GAN$$" $${run}config.yaml && test -f $${run}checkpoints/last.ckpt \
	  && { echo $${run}checkpoints/last.ckpt; break; }; done); \
	test -n "$$ckpt" || { echo "no GAN run with a checkpoint under outputs/train/runs: run make train first"; exit 1; }; \
	$(BIN)/flik-lab latent interpolate ckpt_path=$$ckpt pairs=6 steps=10 && \
	$(BIN)/flik-lab latent arithmetic ckpt_path=$$ckpt expr="7 - 1 + 0"

# removes caches and build files only: runs in outputs/ and the venv are kept (rm them yourself)
clean:
	rm -rf build dist .pytest_cache .ruff_cache src/*.egg-info
	find . -name __pycache__ -type d -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
