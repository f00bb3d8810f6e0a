# One target per habit; the same commands locally and in CI.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
DB ?= traces.db

.PHONY: install system-deps image lint format test test-fast demo bench clean

install:  ## the package with its dev extras
	$(PIP) install -q -e '.[dev]'

system-deps:  ## Debian packages the tests use: chromium (viewer tests), debootstrap (image build)
	@command -v chromium >/dev/null && command -v debootstrap >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium debootstrap >/dev/null; }

image: install  ## the sandbox image, built once per machine (offline: debootstrap + import)
	sandlot sandbox build

lint:
	ruff check .
	ruff format --check .

format:
	ruff check --fix .
	ruff format .

test: install system-deps image  ## everything, including Docker and browser tests
	$(PYTHON) -m pytest -q

test-fast: install  ## without Docker and browser tests
	$(PYTHON) -m pytest -q -m "not docker and not browser"

demo: install  ## run every store task with the offline oracle model, traced to $(DB)
	rm -f $(DB) $(DB)-wal $(DB)-shm
	sandlot run examples/tasks/store --model oracle --db $(DB) --strict
	@echo "view the traces with: sandlot view $(DB)"

bench: install image
	$(PYTHON) bench/bench_agent_overhead.py
	$(PYTHON) bench/bench_trace_writer.py
	$(PYTHON) bench/bench_trace_size.py
	$(PYTHON) bench/bench_sandbox.py
	$(PYTHON) bench/bench_viewer.py

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache $(DB) $(DB)-wal $(DB)-shm
