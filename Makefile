# Two commands do the whole set-up on a fresh machine:
#   make demo   create .venv, install archgym (CPU torch), run a small hyperparameter-lottery study
#   make test   create .venv if needed, run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= runs/demo
# The CPU build of torch, taken before anything else so no dependency pulls a CUDA build
# (the core needs no torch; the dev extra includes every extra, torch among them).
TORCH_CPU ?= torch==2.13.0+cpu
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
PYTEST_ARGS ?=

.PHONY: install demo test test-fast benchmarks clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_CPU)" || \
		$(BIN)/python -m pip install --quiet "$(TORCH_CPU)" --extra-index-url $(TORCH_CPU_INDEX)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# A small but real hyperparameter-lottery study on the DRAM controller env (resumable: run it
# again and finished runs are skipped), then the dataset's summary.
demo: install
	$(BIN)/archgym lottery --env archgym/DRAM-v0 --env-arg workload=random \
		--agents ga,evolution,aco,random_walk --draws 5 --seeds 4 --budget 200 --workers 2 \
		--dataset $(DEMO_DIR)/dataset --report $(DEMO_DIR)/report
	$(BIN)/archgym dataset info $(DEMO_DIR)/dataset

test: install
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -n 2 -m "not slow" $(PYTEST_ARGS)

benchmarks: install
	$(BIN)/python -m pytest -m perf -p no:xdist
	$(BIN)/python benchmarks/dram_throughput.py
	$(BIN)/python benchmarks/dram_validation.py
	$(BIN)/python benchmarks/cli_startup.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/training_validation.py
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/training_worked_example.py

clean:
	rm -rf $(VENV) build dist *.egg-info runs
