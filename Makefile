# The two commands of the README, and a few more for developers.
.PHONY: run test bench check

run:    ## set up and start Beacon with the demo department on SQLite
	scripts/run-demo.sh

test:   ## set up and run the whole test suite (SQLite and PostgreSQL, browser tests)
	scripts/test.sh

bench:  ## print the benchmark figures (see bench/README.md)
	scripts/setup-venv.sh requirements-dev.txt
	.venv/bin/python -m bench.harness

check:  ## the migrations give exactly the models' schema
	scripts/setup-venv.sh requirements.txt
	rm -f /tmp/beacon-check.db
	DATABASE_URL=sqlite:////tmp/beacon-check.db .venv/bin/flask --app app db upgrade
	DATABASE_URL=sqlite:////tmp/beacon-check.db .venv/bin/flask --app app db check
