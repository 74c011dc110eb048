# The README's two commands: `make run` and `make test`. Both install what they need themselves.
.PHONY: run test lint format bench install stop

run:
	scripts/run.sh

test:
	scripts/test.sh

install:
	scripts/install.sh --with-browser

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy && .venv/bin/lint-imports

format:
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .

stop:
	scripts/services.sh stop dev; scripts/services.sh stop test

bench:
	scripts/install.sh
	.venv/bin/python bench/distill_banking77.py --teacher-epochs 10 --student-epochs 8 --alpha 0.5 --teacher-dir var/bench/teacher --models-dir var/bench/students
	.venv/bin/python bench/kd_step_cost.py --teacher-dir var/bench/teacher
	.venv/bin/python bench/eval_banking77.py --teacher-dir var/bench/teacher --models-dir var/bench/students
	.venv/bin/python bench/routing_banking77.py --teacher-dir var/bench/teacher --models-dir var/bench/students
	# Serving needs PostgreSQL (deployments and the decision log): the test instance's, in its own database.
	bash -c 'source scripts/env.sh test && trap "scripts/services.sh stop test" EXIT && scripts/services.sh start test && .venv/bin/python bench/serve_cascade.py --models-dir var/bench/serving'
