"""`sre-bot eval`: the investigation benchmark (cases in bench/evals/, README: Evaluating a model)."""
