# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
OLDEST ?= .venv-oldest
QUIET ?= -q

.PHONY: demo test test-latest test-oldest bench clean collector

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install $(QUIET) --upgrade pip
	$(VENV)/bin/python -m pip install $(QUIET) -e '.[test]'
	touch $@

# The oldest supported major of each client SDK, tested in an environment of its own.
$(OLDEST)/.installed: pyproject.toml
	$(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install $(QUIET) --upgrade pip
	$(OLDEST)/bin/python -m pip install $(QUIET) -e '.[test-oldest]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/agentyield demo --html .agentyield/demo-report.html

test: test-latest test-oldest

test-latest: $(VENV)/.installed collector
	$(VENV)/bin/python -m pytest -q

test-oldest: $(OLDEST)/.installed
	$(OLDEST)/bin/python -m pytest -q tests/test_openai.py tests/test_anthropic.py tests/test_privacy.py \
		tests/test_malformed_fields.py tests/test_implausible_usage.py tests/test_entrypoint.py \
		tests/test_openai_compatible.py tests/test_google_genai.py tests/test_tools.py tests/test_mcp.py \
		tests/test_startup_cost.py

bench: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/overhead.py

# The OpenTelemetry Collector distribution tests/test_collector.py runs (collector-config/builder-config.yaml):
# built with Go and the Go module proxy the first time (minutes), cached under ~/.cache/agentyield after.
collector:
	bash collector-config/build-collector.sh

clean:
	rm -rf $(VENV) $(OLDEST) build *.egg-info
