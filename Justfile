# mockfleet tasks. Install first: python3 -m venv .venv && .venv/bin/pip install -e '.[test]'
py := ".venv/bin/python"

# Run the whole platform (supervisor + edge) with a demo deployment
up *args:
    {{py}} -m supervisor up --demo {{args}}

# Serve one environment file like `mockoon-cli start` (just serve ENV.json 3001)
serve env port="3000":
    {{py}} -m worker {{env}} --port {{port}}

# Run the whole test suite (the same command CI runs)
test:
    {{py}} -m pytest

# Benchmarks: just bench schemas | worker | supervisor | edge | edge_instructions | edge_tunnel | templating | density | fleet | readiness (prints figures, appends to BENCHMARKS.md)
bench target *args:
    {{py}} -m tests.bench.{{target}} {{args}}

# Lint and type-check our packages
lint:
    {{py}} -m ruff check edge worker supervisor schemas tests
    {{py}} -m mypy edge worker supervisor schemas
