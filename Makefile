# pdekit: `make demo` and `make test` each work on a fresh clone.
# torch is installed first, pinned, so pip never resolves a CUDA build on its own.
PYTHON        ?= python3
VENV          ?= .venv
TORCH_VERSION ?= 2.13.0
TORCH_SPEC    ?= torch==$(TORCH_VERSION)
# e.g. https://download.pytorch.org/whl/cu128 for a CUDA build (README: GPUs and clusters)
TORCH_INDEX_URL ?=
TORCH_INDEX   := $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL))
PYTEST_ARGS   ?=
BENCH_VENV    ?= .venv-bench

PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.pdekit-installed

.PHONY: install demo test bench-env clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# The test-only extra "compat" (neuraloperator, for tests/compat) is resolved with torch held at the
# installed version, so that no other torch is ever pulled.
$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet $(TORCH_INDEX) "$(TORCH_SPEC)"
	$(PY) -c "import torch; print('torch==' + torch.__version__)" > $(VENV)/torch-constraint.txt
	$(PY) -m pip install --quiet -c $(VENV)/torch-constraint.txt -e ".[dev,compat]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/pdekit demo

# One BLAS/OpenMP thread per process: the suite runs several processes (DDP ranks, workers)
# on a 2-core machine, where threaded BLAS oversubscribes and slows everything.
# PDEKIT_COMPAT_REQUIRED: tests/compat fails (instead of skipping) if the compat extra is missing.
test: $(STAMP)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} PDEKIT_COMPAT_REQUIRED=1 $(PY) -m pytest -q $(PYTEST_ARGS)

# A separate environment with the packages pdekit is benchmarked against (never pdekit dependencies).
bench-env:
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet $(TORCH_INDEX) "$(TORCH_SPEC)"
	$(BENCH_VENV)/bin/python -m pip install --quiet -e ".[dev]" -r benchmarks/requirements.txt

clean:
	rm -rf $(VENV) $(BENCH_VENV) build *.egg-info
