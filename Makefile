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

# `make bench`: agentyield against its peers and against an earlier agentyield (BASELINE, a git ref), each in
# a virtual environment of its own (their pins conflict), cached outside the repo and built here when missing;
# regenerates BENCHMARKS.md and the README's Performance figures (benchmarks/README.md).
BENCH_VENVS ?= $(HOME)/.cache/agentyield/bench-venvs
BENCH_PEERS = openllmetry openinference otel-openai-v2 otel-genai openlit
# The default baseline is main just before issue 11's tool spans and live agent measures (63c1960), so the
# before/after row shows what they cost the hot path.
BASELINE ?= 63c1960

$(BENCH_VENVS)/%/.installed: benchmarks/peers/%.txt
	$(PYTHON) -m venv $(BENCH_VENVS)/$*
	$(BENCH_VENVS)/$*/bin/python -m pip install $(QUIET) --upgrade pip
	$(BENCH_VENVS)/$*/bin/python -m pip install $(QUIET) -r $<
	touch $@

# The baseline agentyield, with the same SDK and OpenTelemetry versions as $(VENV) (built again when $(VENV) is).
$(BENCH_VENVS)/agentyield-$(BASELINE)/.installed: $(VENV)/.installed
	rm -rf $(BENCH_VENVS)/agentyield-$(BASELINE) $(BENCH_VENVS)/src-$(BASELINE)
	mkdir -p $(BENCH_VENVS)/src-$(BASELINE)
	git archive $(BASELINE) | tar -x -C $(BENCH_VENVS)/src-$(BASELINE)
	$(VENV)/bin/python -m pip freeze --exclude-editable | grep -iE '^(openai|anthropic|httpx|opentelemetry|wrapt|genai-prices)' \
		> $(BENCH_VENVS)/src-$(BASELINE)/constraints.txt
	$(PYTHON) -m venv $(BENCH_VENVS)/agentyield-$(BASELINE)
	$(BENCH_VENVS)/agentyield-$(BASELINE)/bin/python -m pip install $(QUIET) -c $(BENCH_VENVS)/src-$(BASELINE)/constraints.txt \
		$(BENCH_VENVS)/src-$(BASELINE) openai anthropic
	touch $@

bench: $(VENV)/.installed $(foreach peer,$(BENCH_PEERS),$(BENCH_VENVS)/$(peer)/.installed) $(BENCH_VENVS)/agentyield-$(BASELINE)/.installed
	$(VENV)/bin/python benchmarks/run.py --venvs $(BENCH_VENVS) --baseline $(BASELINE) --output BENCHMARKS.md

# The OpenTelemetry Collector distribution tests/test_collector.py runs (collector-config/builder-config.yaml):
# built with Go and the Go module proxy the first time (minutes), cached under ~/.cache/agentyield after.
collector:
	bash collector-config/build-collector.sh

clean:
	rm -rf $(VENV) $(OLDEST) build *.egg-info
