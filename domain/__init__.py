"""Django-free domain code shared by the web app and the workers: job specs and results, model
references, perturbations. It imports neither Django, nor webapp, nor workers (an import contract
in `make test` checks this), so both sides can use it and tests need no database."""
